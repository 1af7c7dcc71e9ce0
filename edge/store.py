"""The edge store: SQLite in WAL mode, the node's single source of truth and its outbox.

Bins are keyed by (node, sensor, start, seconds, kind, direction). A bin is `open` while
observations may still arrive, `pending` once sealed (in the outbox), `sending` while the
bridge has it in flight, `delivered` once the collector acknowledged that exact version.
A late observation to a sealed bin adds to it, bumps its version and puts it back in the
outbox: the collector keeps the highest version, so a count is never lost nor doubled.

Observations and the source's position are committed in one transaction (`commit_batch`).
"""

import json
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from edge.migrations import migrate
from edge.store_errors import disk_full_text, open_problem
from edge.store_reads import CommandLog, CountReader
from walkway.errors import StoreError
from walkway.files import write_atomic
from walkway.keys import REQUIRED, Key, KeySpec
from walkway.memory import bound_sqlite_cache
from walkway.records import COUNT, MEASURE, Batch
from walkway.timeutil import bin_start

log = logging.getLogger(__name__)

FULL_DISK_PRUNE_FRACTION = 0.1  # of all bins, per attempt to make room on a full disk
# A file of this much (at most 1/8 of the filesystem) is kept next to the store and given
# back on SQLITE_FULL: on a full disk even deleting rows needs room for the WAL.
RESERVE_BYTES = 1024 * 1024

# The node config's [store] keys (edge/config.py reads them; Store's defaults are theirs).
STORE_KEYS = KeySpec("store", [
    Key("path", "path", REQUIRED, "the store's SQLite file; relative paths are relative to "
        "the config file"),
    Key("bin_seconds", "integer", 60, "bin width; bins are UTC-aligned", min=1, max=86400),
    Key("grace_seconds", "integer", 30, "a bin is sealed once a source's watermark passes "
        "its end + grace", min=0, max=86400),
    Key("max_mb", "number", 512.0, "disk cap of the store; oldest bins are dropped beyond it "
        "(counted)", min=0.05),
    Key("keep_delivered_hours", "number", 48.0, "delivered bins kept this long (event time) "
        "for re-sends", min=0),
    Key("prune_every_s", "number", 10.0, "how often the store prunes, enforces `max_mb` and "
        "checkpoints its WAL (wall seconds)", min=0.1, max=3600),
])
PRUNE_EVERY_S = STORE_KEYS.default("prune_every_s")
DEFAULT_MAX_BYTES = int(STORE_KEYS.default("max_mb") * 1024 * 1024)
# The term that lets SQLite read the unsent bins from their partial index (migration 3)
# instead of the whole table: the outbox is small, the history of delivered bins is not.
UNSENT = "state != 'delivered'"


@dataclass(frozen=True, slots=True)
class OutboxBin:
    id: int
    version: int
    sensor: str
    start: int
    seconds: int
    kind: str
    direction: str
    count: int
    vsum: float | None
    vmin: float | None
    vmax: float | None


@dataclass(frozen=True)
class OutboxStats:
    depth: int
    open_bins: int
    oldest_pending_start: int | None
    oldest_pending_sealed_at: float | None
    dropped_bins: int
    late_dropped: int
    size_bytes: int


def _is_disk_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "full" in str(exc).lower()


class StoreFullError(StoreError):
    """The store's disk is full and pruning could not make room (yet)."""


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite rolls a transaction back by itself on SQLITE_FULL (and IOERR, NOMEM): a second
    # ROLLBACK would raise "no transaction is active" and hide the real error.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class Store(CommandLog, CountReader):
    """One node's store. Safe to open from the edge and the bridge processes at once."""

    def __init__(
        self,
        path: str | Path,
        *,
        node: str,
        bin_seconds: int = STORE_KEYS.default("bin_seconds"),
        grace_seconds: int = STORE_KEYS.default("grace_seconds"),
        max_bytes: int = DEFAULT_MAX_BYTES,
        keep_delivered_s: float = STORE_KEYS.default("keep_delivered_hours") * 3600,
        prune_every_s: float = PRUNE_EVERY_S,
        clock: Callable[[], float] = time.time,
        durable: bool = True,
    ) -> None:
        self.path = Path(path)
        self.node = node
        self.bin_seconds = bin_seconds
        self.grace_seconds = grace_seconds
        self.max_bytes = max_bytes
        self.keep_delivered_s = keep_delivered_s
        self.prune_every_s = prune_every_s
        self.clock = clock
        self._last_prune = float("-inf")
        conn = None
        try:
            conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before a source's position moves on (power cuts).
            # The bridge only records deliveries, which a crash at worst makes it send again.
            conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            conn.execute("PRAGMA busy_timeout=30000")
            bound_sqlite_cache(conn)
            migrate(conn)
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            if str(path) == ":memory:":
                raise StoreError(f"{path}: cannot open store: {exc}") from exc
            raise StoreError(open_problem(self.path, str(exc))) from exc
        self._conn = conn  # private: other modules use the named methods below
        self.reserve = None if str(path) == ":memory:" else Path(f"{path}-reserve")
        self._keep_reserve()

    @classmethod
    def from_config(
        cls, config: "object", clock: Callable[[], float] = time.time, durable: bool = True
    ) -> "Store":
        store = config.store  # type: ignore[attr-defined]
        return cls(
            store.path,
            node=config.node.id,  # type: ignore[attr-defined]
            bin_seconds=store.bin_seconds,
            grace_seconds=store.grace_seconds,
            max_bytes=int(store.max_mb * 1024 * 1024),
            keep_delivered_s=store.keep_delivered_hours * 3600,
            prune_every_s=store.prune_every_s,
            clock=clock,
            durable=durable,
        )

    def close(self) -> None:
        self._conn.close()

    # -- counters -------------------------------------------------------------------
    def counter(self, name: str) -> int:
        row = self._conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def _bump(self, name: str, n: int) -> None:
        if n:
            self._conn.execute(
                "INSERT INTO counters(name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, n),
            )

    # -- sources --------------------------------------------------------------------
    def position(self, source: str) -> str | None:
        row = self._conn.execute(
            "SELECT position FROM source_state WHERE source=?", (source,)
        ).fetchone()
        return row[0] if row else None

    def watermark(self, source: str) -> float | None:
        row = self._conn.execute(
            "SELECT watermark FROM source_state WHERE source=?", (source,)
        ).fetchone()
        return row[0] if row else None

    def source_statuses(self) -> list[tuple[str, str | None, float | None]]:
        """(source, status JSON, status_at) for every source the edge has reported."""
        return self._conn.execute(
            "SELECT source, status, status_at FROM source_state ORDER BY source"
        ).fetchall()

    # -- process heartbeats (operations) --------------------------------------------
    def set_state(self, name: str, value: dict) -> None:
        """Record a process's heartbeat (e.g. 'edge', 'bridge') as JSON with the time."""
        self._conn.execute(
            "INSERT INTO node_state(name, value, at) VALUES (?, ?, ?) ON CONFLICT(name)"
            " DO UPDATE SET value=excluded.value, at=excluded.at",
            (name, json.dumps(value), self.clock()),
        )

    def get_state(self, name: str) -> tuple[dict, float] | None:
        row = self._conn.execute("SELECT value, at FROM node_state WHERE name=?",
                                 (name,)).fetchone()
        return (json.loads(row[0]), row[1]) if row else None

    def write_statuses(self, statuses: Mapping[str, dict], edge_state: dict) -> None:
        """The edge's report, in one transaction: each source's status, then its heartbeat."""
        now = self.clock()
        with self._conn:
            for name, payload in statuses.items():
                self._conn.execute(
                    "INSERT INTO source_state(source, status, status_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(source) DO UPDATE SET status=excluded.status,"
                    " status_at=excluded.status_at",
                    (name, json.dumps(payload), now),
                )
            self.set_state("edge", edge_state)

    def probe_write(self) -> None:
        """A committed write (`walkway selftest`): it bumps a counter no one reads. A write
        rolled back never leaves memory, so it passes on a full disk. Raises sqlite3.Error."""
        self._conn.execute("INSERT INTO counters(name, value) VALUES ('selftest', 1)"
                           " ON CONFLICT(name) DO UPDATE SET value = value + 1")

    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # -- ingest ---------------------------------------------------------------------
    def commit_batch(self, source: str, batch: Batch) -> None:
        """Add a batch's observations and move the source's position, atomically."""
        try:
            self._commit_batch(source, batch)
        except sqlite3.OperationalError as exc:
            if not _is_disk_full(exc):
                raise StoreError(f"{self.path}: write failed: {exc}") from exc
            try:
                # Often only the WAL filled the disk: giving its space back loses nothing.
                self.checkpoint()
                self._commit_batch(source, batch)
            except sqlite3.OperationalError as again:
                if not _is_disk_full(again):
                    raise StoreError(f"{self.path}: write failed: {again}") from again
            else:
                return
            deleted = self.make_room()
            log.warning("%s; deleted %d oldest bins to make room, retrying",
                        disk_full_text(self.path), deleted)
            try:
                self._commit_batch(source, batch)
            except sqlite3.OperationalError as exc2:
                if _is_disk_full(exc2):
                    raise StoreFullError(
                        f"{disk_full_text(self.path)}: still no room after deleting {deleted} "
                        "bins: free space on that disk") from exc2
                raise StoreError(f"{self.path}: write failed after pruning: {exc2}") from exc2
        self.maintain_if_due()

    def maintain_if_due(self) -> bool:
        """Run `maintain` when `prune_every_s` passed: after each batch, and from the edge's
        loop when no batch comes, so the cap also holds on a quiet node."""
        if self.clock() - self._last_prune < self.prune_every_s:
            return False
        self.maintain()
        return True

    def _commit_batch(self, source: str, batch: Batch) -> None:
        now = self.clock()
        width = self.bin_seconds
        counts: dict[tuple[str, int, str], int] = {}
        for o in batch.observations:
            key = (o.sensor, bin_start(o.time, width), o.direction)
            counts[key] = counts.get(key, 0) + o.count
        measures: dict[tuple[str, int, str], list[float]] = {}
        for m in batch.measurements:
            key = (m.sensor, bin_start(m.time, width), m.quantity)
            acc = measures.get(key)
            if acc is None:
                measures[key] = [1, m.value, m.value, m.value]
            else:
                acc[0] += 1
                acc[1] += m.value
                acc[2] = min(acc[2], m.value)
                acc[3] = max(acc[3], m.value)
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            pruned_until = self.counter("pruned_until_start")
            late = 0
            rows = []
            mark = self.watermark(source) if pruned_until else None
            for (sensor, start, direction), n in counts.items():
                if self._pruned(pruned_until, mark, sensor, start, COUNT, direction):
                    late += n
                    continue
                rows.append((self.node, sensor, start, width, COUNT, direction, source, n, now))
            conn.executemany(
                "INSERT INTO bins(node, sensor, start, seconds, kind, direction, source, count,"
                " updated_at) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(node, sensor, start, seconds, kind, direction) DO UPDATE SET"
                "  count = count + excluded.count,"
                "  version = version + (state != 'open'),"
                "  state = CASE state WHEN 'open' THEN 'open' ELSE 'pending' END,"
                "  updated_at = excluded.updated_at"
                " WHERE excluded.count != 0 OR state = 'open'",
                rows,
            )
            mrows = []
            for (sensor, start, quantity), (n, total, lo, hi) in measures.items():
                if self._pruned(pruned_until, mark, sensor, start, MEASURE, quantity):
                    late += 1
                    continue
                mrows.append(
                    (self.node, sensor, start, width, MEASURE, quantity, source, n, total, lo, hi,
                     now)
                )
            conn.executemany(
                "INSERT INTO bins(node, sensor, start, seconds, kind, direction, source, count,"
                " vsum, vmin, vmax, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(node, sensor, start, seconds, kind, direction) DO UPDATE SET"
                "  count = count + excluded.count, vsum = vsum + excluded.vsum,"
                "  vmin = min(vmin, excluded.vmin), vmax = max(vmax, excluded.vmax),"
                "  version = version + (state != 'open'),"
                "  state = CASE state WHEN 'open' THEN 'open' ELSE 'pending' END,"
                "  updated_at = excluded.updated_at",
                mrows,
            )
            self._bump("late_dropped", late)
            if batch.position is not None or batch.watermark is not None:
                conn.execute(
                    "INSERT INTO source_state(source, position, watermark, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET"
                    "  position = coalesce(excluded.position, position),"
                    "  watermark = max(coalesce(watermark, excluded.watermark),"
                    "                  coalesce(excluded.watermark, watermark)),"
                    "  updated_at = excluded.updated_at",
                    (source, batch.position, batch.watermark, now),
                )
            if batch.watermark is not None:
                self._seal(source, now)
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    def _pruned(self, pruned_until: int, mark: float | None, sensor: str, start: int,
                kind: str, direction: str) -> bool:
        """Whether observations for this bin must be refused (counted in `late_dropped`)
        because pruning may have deleted it. Only a bin that is gone and that this source
        had already sealed (so it is late anyway) is refused: pruning keeps some bins of a
        start and deletes others, and never deletes open bins, so a kept bin goes on
        counting and an in-time bin of another, slower source is created as usual. The old
        rule (refuse every start up to the newest one pruned) lost such bins without
        counting them in `dropped_bins` (issue 18)."""
        if not pruned_until or start > pruned_until:
            return False
        if mark is not None and start + self.bin_seconds + self.grace_seconds > mark:
            return False  # not sealed for this source yet: in time, never pruned
        return self._conn.execute(
            "SELECT 1 FROM bins WHERE node=? AND sensor=? AND start=? AND seconds=?"
            " AND kind=? AND direction=?",
            (self.node, sensor, start, self.bin_seconds, kind, direction)).fetchone() is None

    def _seal(self, source: str, now: float) -> None:
        mark = self.watermark(source)
        if mark is None:
            return
        self._conn.execute(
            "UPDATE bins SET state='pending', sealed_at=? WHERE source=? AND state='open'"
            " AND start + seconds + ? <= ?",
            (now, source, self.grace_seconds, mark),
        )

    def seal_sources_except(self, sources: Iterable[str]) -> int:
        """Seal every open bin of sources no longer configured (they will never send more)."""
        keep = list(sources)
        marks = ",".join("?" * len(keep)) or "''"
        cur = self._conn.execute(
            f"UPDATE bins SET state='pending', sealed_at=? WHERE state='open'"
            f" AND source NOT IN ({marks})",
            (self.clock(), *keep),
        )
        return cur.rowcount

    # -- outbox ---------------------------------------------------------------------
    def claim(self, limit: int) -> list[OutboxBin]:
        """Take the oldest pending bins for sending (state 'sending' until acked/released)."""
        with self._conn:
            rows = self._conn.execute(
                "UPDATE bins SET state='sending' WHERE id IN"
                " (SELECT id FROM bins WHERE state='pending' ORDER BY id LIMIT ?)"
                " RETURNING id, version, sensor, start, seconds, kind, direction, count, vsum,"
                " vmin, vmax",
                (limit,),
            ).fetchall()
        rows.sort()
        return [OutboxBin(*r) for r in rows]

    def release(self, items: Iterable[tuple[int, int]] | None = None) -> int:
        """Put claimed bins back in the outbox (all of them when `items` is None)."""
        if items is None:
            return self._conn.execute(
                f"UPDATE bins SET state='pending' WHERE state='sending' AND {UNSENT}"
            ).rowcount
        with self._conn:
            cur = self._conn.executemany(
                "UPDATE bins SET state='pending' WHERE id=? AND state='sending'",
                [(i,) for i, _ in items],
            )
        return cur.rowcount

    def mark_delivered(self, items: Iterable[tuple[int, int]]) -> int:
        """Mark (id, version) pairs delivered; a bin changed since it was sent stays pending.

        One statement text for any number of pairs, passed as one JSON parameter. It was
        one `id IN (?, ...)` text per ack size: each size a prepared statement of its own,
        up to 137 KB for 300 pairs, and the sqlite3 module keeps 128 of them per
        connection, so the bridge's memory grew with every new ack size a backlog brought
        (found by the soak, issue 18)."""
        pairs = json.dumps([[int(i), int(v)] for i, v in items])
        with self._conn:  # one statement: one transaction
            # `id IN` lets SQLite look rows up by primary key; the row-value test then
            # leaves out bins whose version changed since they were sent.
            return self._conn.execute(
                "UPDATE bins SET state='delivered', delivered_at=?1"
                " WHERE id IN (SELECT json_extract(value, '$[0]') FROM json_each(?2))"
                " AND (id, version) IN (SELECT json_extract(value, '$[0]'),"
                " json_extract(value, '$[1]') FROM json_each(?2))"
                " AND state IN ('pending', 'sending')", (self.clock(), pairs)).rowcount

    def resend_since(self, start: float) -> int:
        """Put delivered bins starting at or after `start` back in the outbox."""
        cur = self._conn.execute(
            "UPDATE bins SET state='pending' WHERE state='delivered' AND start >= ?",
            (int(start),),
        )
        return cur.rowcount

    def stats(self) -> OutboxStats:
        """The outbox as health reports it. Reads only the unsent bins (their index), never
        the delivered history: the bridge runs this every health period for days."""
        by_state = dict(self._conn.execute(
            f"SELECT state, count(*) FROM bins WHERE {UNSENT} GROUP BY state").fetchall())
        oldest = self._conn.execute(
            f"SELECT min(start), min(sealed_at) FROM bins WHERE {UNSENT}"
            " AND state IN ('pending', 'sending')"
        ).fetchone()
        return OutboxStats(
            depth=by_state.get("pending", 0) + by_state.get("sending", 0),
            open_bins=by_state.get("open", 0),
            oldest_pending_start=oldest[0],
            oldest_pending_sealed_at=oldest[1],
            dropped_bins=self.counter("dropped_bins"),
            late_dropped=self.counter("late_dropped"),
            size_bytes=self.used_bytes(),
        )

    def delivered_count(self) -> int:
        """Delivered bins still kept (the crew CLI's `outbox`). Counts every bin (SQLite walks
        the smallest index), so it is for a crew's question, not for a periodic report."""
        total = self._conn.execute("SELECT count(*) FROM bins").fetchone()[0]
        unsent = self._conn.execute(f"SELECT count(*) FROM bins WHERE {UNSENT}").fetchone()[0]
        return int(total - unsent)

    def bins(self, *, since_start: int = 0, kind: str | None = None) -> list[dict]:
        """All bins from `since_start` on (for the crew CLI and tests)."""
        sql = "SELECT * FROM bins WHERE start >= ?"
        args: list[object] = [since_start]
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        cur = self._conn.execute(sql + " ORDER BY start, sensor, direction", args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- bounds ---------------------------------------------------------------------
    def used_bytes(self) -> int:
        """What the store takes on disk against `max_bytes`: live pages plus the WAL."""
        return self.db_bytes() + self.wal_bytes()

    def db_bytes(self) -> int:
        page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        free = self._conn.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * page_size

    def wal_bytes(self) -> int:
        try:
            return self.path.with_name(self.path.name + "-wal").stat().st_size
        except OSError:
            return 0

    def _truncate_wal(self) -> None:
        # TRUNCATE resets the WAL file to zero bytes once every frame is in the database;
        # a reader in the other process can keep it busy, then the next run retries.
        busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            log.info("store: WAL checkpoint busy (a reader); %d bytes of WAL kept",
                     self.wal_bytes())

    def maintain(self) -> None:
        """Prune delivered bins past retention, then enforce the disk cap."""
        self._last_prune = self.clock()
        newest = self._conn.execute("SELECT max(start) FROM bins").fetchone()[0]
        if newest is not None:
            # Event time (a replay of last year keeps its history), but never past our own
            # clock: one bin stamped in the future (a clock jump, a sign on wall time while
            # the sensors run on simulated time) must not sweep away all delivered bins.
            horizon = min(newest, self.clock()) - self.keep_delivered_s
            self._delete("state='delivered' AND start < ?", (horizon,), count_as=None)
        self.enforce_cap()
        # PASSIVE never waits for the bridge's readers; it lets the next write reuse the WAL
        # from its start instead of growing it, so a small disk is not filled by the WAL.
        self.checkpoint("PASSIVE")
        self._keep_reserve()

    def enforce_cap(self, force_fraction: float = 0.0) -> None:
        """Delete oldest delivered bins, then oldest unsent ones, until under the cap.

        Unsent bins deleted here are lost data: they are counted in `dropped_bins` and
        reported in health, never a crash.
        """
        if force_fraction:
            forced = int(self._bin_count() * force_fraction)
            if forced:
                self._delete_oldest("state='delivered'", forced, count_as=None)
        if self.used_bytes() <= self.max_bytes:
            return  # the usual case, after every batch: no count of every bin (issue 18)
        if self.wal_bytes():
            self._truncate_wal()
        total = self._bin_count()
        while self.used_bytes() > self.max_bytes:
            if self.db_bytes() <= self.max_bytes:
                break  # only a WAL a reader holds is over: no data is deleted for it
            chunk = max(50, total // 20)
            deleted = self._delete_oldest("state='delivered'", chunk, count_as=None)
            if not deleted:
                # Sealed unsent bins, oldest first. Open bins (the minutes being counted,
                # a few per sensor) are never deleted: a cap too small for them is reported
                # by health as the store's size, it does not silently eat current counts.
                deleted = self._delete_oldest("state IN ('pending', 'sending')", chunk,
                                              count_as="dropped_bins")
            if not deleted:
                break
            self._truncate_wal()

    def _bin_count(self) -> int:
        # SQLite counts by walking the smallest index: pages in proportion to the history.
        return int(self._conn.execute("SELECT count(*) FROM bins").fetchone()[0])

    def make_room(self) -> int:
        """On a full disk: drop the oldest bins (delivered first, then unsent ones, counted in
        `dropped_bins`) and give the WAL's space back to the filesystem. Returns bins deleted.

        Each step may itself fail for want of space; the next one is still tried, and the
        caller retries its write either way.
        """
        if self.reserve is not None:
            self.reserve.unlink(missing_ok=True)
        self.checkpoint()
        chunk = max(1, int(self._bin_count() * FULL_DISK_PRUNE_FRACTION))
        deleted = 0
        # Open bins (minutes still being counted) are never dropped: one re-created later
        # would hold only its later observations, a partial count that looks complete.
        for where, count_as in (("state='delivered'", None),
                                ("state NOT IN ('delivered', 'open')", "dropped_bins")):
            try:
                deleted += self._delete_oldest(where, chunk, count_as=count_as)
            except sqlite3.OperationalError as exc:
                if not _is_disk_full(exc):
                    raise
            if deleted:
                break
        self.checkpoint()
        self._keep_reserve()
        return deleted

    def _keep_reserve(self) -> None:
        """(Re)create the reserve file when it is missing or short and the disk has room for
        it twice over. Written atomically and synced: a reserve written but never synced is
        an empty file after a power cut (its blocks never reached the disk), which the old
        `exists()` test then kept for ever, so the full-disk path had nothing to give back
        (found by the power-cut test, issue 18)."""
        if self.reserve is None:
            return
        try:
            have = self.reserve.stat().st_size
        except FileNotFoundError:
            have = 0
        except OSError as exc:
            log.debug("no reserve file next to %s: %s", self.path, exc)
            return
        if have >= RESERVE_BYTES:
            return
        try:
            usage = shutil.disk_usage(self.reserve.parent)
            size = min(RESERVE_BYTES, usage.total // 8)
            if have < size and usage.free >= 2 * size:
                # written, not sparse: the blocks must be taken
                write_atomic(self.reserve, bytes(size))
        except OSError as exc:
            self.reserve.unlink(missing_ok=True)
            log.debug("no reserve file next to %s: %s", self.path, exc)

    def checkpoint(self, mode: str = "TRUNCATE") -> None:
        # TRUNCATE: copy the WAL into the database and shrink the WAL file to zero bytes.
        try:
            self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except sqlite3.OperationalError as exc:
            if not _is_disk_full(exc):
                raise

    def _delete_oldest(self, where: str, limit: int, count_as: str | None) -> int:
        return self._delete(
            f"id IN (SELECT id FROM bins WHERE {where} ORDER BY start, id LIMIT ?)",
            (limit,),
            count_as=count_as,
        )

    def _delete(self, where: str, args: tuple, count_as: str | None) -> int:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            newest_gone = self._conn.execute(
                f"SELECT max(start) FROM bins WHERE {where}", args
            ).fetchone()[0]
            cur = self._conn.execute(f"DELETE FROM bins WHERE {where}", args)
            if cur.rowcount and newest_gone is not None:
                # Observations for a pruned bin would re-create it with a partial count.
                self._conn.execute(
                    "INSERT INTO counters(name, value) VALUES ('pruned_until_start', ?)"
                    " ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
                    (int(newest_gone),),
                )
            if count_as:
                self._bump(count_as, cur.rowcount)
            self._conn.execute("COMMIT")
        except BaseException:
            _rollback(self._conn)
            raise
        if cur.rowcount:
            log.info("store: deleted %d bins (%s)", cur.rowcount, count_as or "delivered")
        return cur.rowcount


__all__ = ["STORE_KEYS", "OutboxBin", "OutboxStats", "Store"]
