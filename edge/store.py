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
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from edge.migrations import migrate
from walkway.errors import StoreError
from walkway.records import COUNT, MEASURE, Batch
from walkway.timeutil import bin_start

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 10.0


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
    delivered: int
    oldest_pending_start: int | None
    oldest_pending_sealed_at: float | None
    dropped_bins: int
    late_dropped: int
    size_bytes: int


def _is_disk_full(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "full" in str(exc).lower()


class Store:
    """One node's store. Safe to open from the edge and the bridge processes at once."""

    def __init__(
        self,
        path: str | Path,
        *,
        node: str,
        bin_seconds: int = 60,
        grace_seconds: int = 30,
        max_bytes: int = 512 * 1024 * 1024,
        keep_delivered_s: float = 48 * 3600,
        clock: Callable[[], float] = time.time,
        durable: bool = True,
    ) -> None:
        self.path = Path(path)
        self.node = node
        self.bin_seconds = bin_seconds
        self.grace_seconds = grace_seconds
        self.max_bytes = max_bytes
        self.keep_delivered_s = keep_delivered_s
        self.clock = clock
        self._last_prune = float("-inf")
        try:
            conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open store: {exc}") from exc
        self._conn = conn  # private: other modules use the named methods below
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before a source's position moves on (power cuts).
        # The bridge only records deliveries, which a crash at worst makes it send again.
        conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        conn.execute("PRAGMA busy_timeout=30000")
        migrate(conn)

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
        """Take the write lock and write, then roll back: proves the store is writable and
        leaves nothing behind (`walkway selftest`). Raises sqlite3.Error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("INSERT INTO counters(name, value) VALUES ('selftest', 1)"
                               " ON CONFLICT(name) DO UPDATE SET value = value + 1")
        finally:
            self._conn.execute("ROLLBACK")

    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # -- remote commands (cloud_bridge/downlink): one row per accepted id ----------------
    def record_command(self, cmd_id: str, command: str, received_at: float,
                       expires_at: float, result: dict) -> None:
        self._conn.execute(
            "INSERT INTO commands(id, command, received_at, expires_at, status, result)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET status=excluded.status,"
            " result=excluded.result",
            (cmd_id, command, received_at, expires_at, result["status"], json.dumps(result)))

    def update_command(self, cmd_id: str, result: dict) -> None:
        self._conn.execute("UPDATE commands SET status=?, result=? WHERE id=?",
                           (result["status"], json.dumps(result), cmd_id))

    def command_result(self, cmd_id: str) -> dict | None:
        row = self._conn.execute("SELECT result FROM commands WHERE id=?", (cmd_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def forget_commands(self, expired_before: float) -> None:
        self._conn.execute("DELETE FROM commands WHERE expires_at < ?", (expired_before,))

    def latest_accepted_command(self, commands: Iterable[str]) -> tuple[str, dict, float] | None:
        """(id, result, received_at) of the newest command among `commands` still accepted."""
        names = list(commands)
        row = self._conn.execute(
            "SELECT id, result, received_at FROM commands WHERE status='accepted' AND"
            f" command IN ({','.join('?' * len(names))}) ORDER BY received_at DESC LIMIT 1",
            names).fetchone()
        return (row[0], json.loads(row[1]), row[2]) if row else None

    # -- reading counts (crew CLI, the sign) -----------------------------------------------
    def count_rows_since(self, start: int) -> list[tuple[str, str, str, int, int]]:
        """(source, sensor, direction, start, count) of every count bin from `start` on."""
        return self._conn.execute(
            "SELECT source, sensor, direction, start, count FROM bins WHERE kind='count'"
            " AND start >= ? ORDER BY sensor, direction", (int(start),)).fetchall()

    def sensor_total(self, sensor: str, since: int, *,
                     exclude_source: str = "") -> tuple[int, int]:
        """(sum of counts, number of bins) of `sensor` since `since`; (0, 0): no bins at all,
        which is "no data", not "nobody"."""
        row = self._conn.execute(
            "SELECT coalesce(sum(count), 0), count(*) FROM bins WHERE kind='count' AND sensor=?"
            " AND source != ? AND start >= ?", (sensor, exclude_source, int(since))).fetchone()
        return int(row[0]), int(row[1])

    def latest_mean(self, quantity: str) -> float | None:
        """The mean of the newest bin of a measured quantity (e.g. temperature_c), or None."""
        row = self._conn.execute(
            "SELECT vsum / count FROM bins WHERE kind='measure' AND direction=?"
            " AND count > 0 ORDER BY start DESC LIMIT 1", (quantity,)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    # -- ingest ---------------------------------------------------------------------
    def commit_batch(self, source: str, batch: Batch) -> None:
        """Add a batch's observations and move the source's position, atomically."""
        try:
            self._commit_batch(source, batch)
        except sqlite3.OperationalError as exc:
            if not _is_disk_full(exc):
                raise StoreError(f"{self.path}: write failed: {exc}") from exc
            log.warning("%s: disk full; dropping oldest bins and retrying", self.path)
            self.enforce_cap(force_fraction=0.1)
            try:
                self._commit_batch(source, batch)
            except sqlite3.OperationalError as exc2:
                raise StoreError(f"{self.path}: write failed after pruning: {exc2}") from exc2
        if self.clock() - self._last_prune >= PRUNE_EVERY_S:
            self.maintain()

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
            for (sensor, start, direction), n in counts.items():
                if start <= pruned_until and pruned_until:
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
                if start <= pruned_until and pruned_until:
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
            conn.execute("ROLLBACK")
            raise

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
                "UPDATE bins SET state='pending' WHERE state='sending'"
            ).rowcount
        with self._conn:
            cur = self._conn.executemany(
                "UPDATE bins SET state='pending' WHERE id=? AND state='sending'",
                [(i,) for i, _ in items],
            )
        return cur.rowcount

    def mark_delivered(self, items: Iterable[tuple[int, int]]) -> int:
        """Mark (id, version) pairs delivered; a bin changed since it was sent stays pending."""
        pairs = list(items)
        done = 0
        with self._conn:
            for chunk in range(0, len(pairs), 300):  # SQLite's bound-parameter limit
                part = pairs[chunk:chunk + 300]
                ids = ",".join("?" * len(part))
                values = ",".join("(?,?)" for _ in part)
                # `id IN` lets SQLite look rows up by primary key; the row-value test then
                # leaves out bins whose version changed since they were sent.
                done += self._conn.execute(
                    f"UPDATE bins SET state='delivered', delivered_at=?"
                    f" WHERE id IN ({ids}) AND (id, version) IN (VALUES {values})"
                    f" AND state IN ('pending', 'sending')",
                    (self.clock(), *(i for i, _ in part), *(x for pair in part for x in pair)),
                ).rowcount
        return done

    def resend_since(self, start: float) -> int:
        """Put delivered bins starting at or after `start` back in the outbox."""
        cur = self._conn.execute(
            "UPDATE bins SET state='pending' WHERE state='delivered' AND start >= ?",
            (int(start),),
        )
        return cur.rowcount

    def stats(self) -> OutboxStats:
        by_state = dict(
            self._conn.execute("SELECT state, count(*) FROM bins GROUP BY state").fetchall()
        )
        oldest = self._conn.execute(
            "SELECT min(start), min(sealed_at) FROM bins WHERE state IN ('pending', 'sending')"
        ).fetchone()
        return OutboxStats(
            depth=by_state.get("pending", 0) + by_state.get("sending", 0),
            open_bins=by_state.get("open", 0),
            delivered=by_state.get("delivered", 0),
            oldest_pending_start=oldest[0],
            oldest_pending_sealed_at=oldest[1],
            dropped_bins=self.counter("dropped_bins"),
            late_dropped=self.counter("late_dropped"),
            size_bytes=self.used_bytes(),
        )

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
        page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        free = self._conn.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * page_size

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

    def enforce_cap(self, force_fraction: float = 0.0) -> None:
        """Delete oldest delivered bins, then oldest unsent ones, until under the cap.

        Unsent bins deleted here are lost data: they are counted in `dropped_bins` and
        reported in health, never a crash.
        """
        total = self._conn.execute("SELECT count(*) FROM bins").fetchone()[0]
        forced = int(total * force_fraction)
        if forced:
            self._delete_oldest("state='delivered'", forced, count_as=None)
        while self.used_bytes() > self.max_bytes:
            chunk = max(50, total // 20)
            if self._delete_oldest("state='delivered'", chunk, count_as=None):
                continue
            if not self._delete_oldest("state!='delivered'", chunk, count_as="dropped_bins"):
                break

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
            self._conn.execute("ROLLBACK")
            raise
        if cur.rowcount:
            log.info("store: deleted %d bins (%s)", cur.rowcount, count_as or "delivered")
        return cur.rowcount


__all__ = ["OutboxBin", "OutboxStats", "Store"]
