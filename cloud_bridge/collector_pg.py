"""PostgreSQL collector storage: the city's database, shared by several collectors.

`counts` and `measures` are declaratively range-partitioned by bin start, one partition per
UTC month, created on demand (under an advisory lock, so two collectors never race on the
DDL). Rollups and the write path are shared with SQLite (collector_base). Concurrency: each
batch takes its row locks in one global order (sorted keys; counts, then rollups, then health
and counters), and the old version of each key is read under that lock
(`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so collectors in the shared subscription
neither deadlock nor lose a delta. A transient conflict (deadlock, serialization, a
partition created meanwhile) retries the whole batch; nothing is acknowledged before commit.
"""

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cloud_bridge.collector_base import StorageBase
from cloud_bridge.collector_batch import CountKey, PendingWrites
from walkway.errors import StoreError
from walkway.timeutil import parse_iso

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
RETRIES = 8
PARTITION_LOCK = 0x57A1C17  # pg_advisory_xact_lock key for partition DDL

SCHEMA = """
CREATE TABLE IF NOT EXISTS counts (
    site TEXT NOT NULL, node TEXT NOT NULL, sensor TEXT NOT NULL, start BIGINT NOT NULL,
    seconds INTEGER NOT NULL, direction TEXT NOT NULL, count BIGINT NOT NULL,
    version INTEGER NOT NULL, received_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site, node, sensor, start, seconds, direction)
) PARTITION BY RANGE (start);
CREATE INDEX IF NOT EXISTS counts_by_received ON counts (received_at);
CREATE TABLE IF NOT EXISTS measures (
    site TEXT NOT NULL, node TEXT NOT NULL, sensor TEXT NOT NULL, start BIGINT NOT NULL,
    seconds INTEGER NOT NULL, quantity TEXT NOT NULL, n INTEGER NOT NULL,
    min DOUBLE PRECISION, mean DOUBLE PRECISION, max DOUBLE PRECISION,
    version INTEGER NOT NULL, received_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site, node, sensor, start, seconds, quantity)
) PARTITION BY RANGE (start);
CREATE TABLE IF NOT EXISTS counts_hourly (
    site TEXT NOT NULL, node TEXT NOT NULL, sensor TEXT NOT NULL, direction TEXT NOT NULL,
    hour BIGINT NOT NULL, count BIGINT NOT NULL, bins INTEGER NOT NULL,
    PRIMARY KEY (site, node, sensor, direction, hour)
);
CREATE INDEX IF NOT EXISTS counts_hourly_by_hour ON counts_hourly (hour);
CREATE TABLE IF NOT EXISTS counts_daily (
    site TEXT NOT NULL, node TEXT NOT NULL, sensor TEXT NOT NULL, direction TEXT NOT NULL,
    day BIGINT NOT NULL, count BIGINT NOT NULL, bins INTEGER NOT NULL,
    PRIMARY KEY (site, node, sensor, direction, day)
);
CREATE INDEX IF NOT EXISTS counts_daily_by_day ON counts_daily (day);
CREATE TABLE IF NOT EXISTS collector_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS node_health (
    site TEXT NOT NULL, node TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
    received_at DOUBLE PRECISION NOT NULL, body TEXT NOT NULL, PRIMARY KEY (site, node)
);
CREATE TABLE IF NOT EXISTS health_history (
    site TEXT NOT NULL, node TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
    received_at DOUBLE PRECISION NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS health_history_by_node ON health_history (node, at);
CREATE INDEX IF NOT EXISTS health_history_by_received ON health_history (received_at);
CREATE TABLE IF NOT EXISTS cmd_results (
    site TEXT NOT NULL, node TEXT NOT NULL, id TEXT, command TEXT, status TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL, received_at DOUBLE PRECISION NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cmd_results_by_id ON cmd_results (id);
CREATE TABLE IF NOT EXISTS walkway_schema (version INTEGER NOT NULL);
"""


def month_bounds(epoch: int) -> tuple[str, int, int]:
    """Partition name suffix and [from, to) epoch bounds of the UTC month holding `epoch`."""
    d = datetime.fromtimestamp(epoch, UTC)
    first = datetime(d.year, d.month, 1, tzinfo=UTC)
    after = datetime(d.year + (d.month == 12), d.month % 12 + 1, 1, tzinfo=UTC)
    return f"y{d.year:04d}m{d.month:02d}", int(first.timestamp()), int(after.timestamp())


class PostgresCollectorStorage(StorageBase):
    def __init__(self, url: str) -> None:
        super().__init__()
        import psycopg

        self._psycopg = psycopg
        self.url = url
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"--db: cannot connect to PostgreSQL: {_short(exc)}") from exc
        self._months: set[str] = set()
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
            self.conn.execute(SCHEMA)
            row = self.conn.execute("SELECT max(version) FROM walkway_schema").fetchone()
            if row[0] is None:
                self.conn.execute("INSERT INTO walkway_schema VALUES (%s)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise StoreError(f"--db: collector schema {row[0]} is newer than this"
                                 f" walkway ({SCHEMA_VERSION})")

    # -- partitions ---------------------------------------------------------------------
    def _before_write(self, pending: PendingWrites) -> None:
        starts = {parse_iso(b["start"]) for m in pending.messages for b in m["bins"]}
        starts |= {parse_iso(x["start"]) for m in pending.messages
                   for x in m.get("measures", ())}
        months = {month_bounds(int(s)) for s in starts}
        for suffix, lo, hi in sorted(months - {m for m in months if m[0] in self._months}):
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
                for table in ("counts", "measures"):
                    self.conn.execute(
                        f"CREATE TABLE IF NOT EXISTS {table}_{suffix} PARTITION OF {table}"
                        f" FOR VALUES FROM ({lo}) TO ({hi})")
            self._months.add(suffix)

    def partitions(self) -> list[str]:
        rows = self._rows("SELECT c.relname FROM pg_inherits i JOIN pg_class c"
                          " ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent"
                          " WHERE p.relname = 'counts' ORDER BY 1")
        return [r[0] for r in rows]

    # -- primitives ---------------------------------------------------------------------
    def _transaction(self, pending: PendingWrites) -> None:
        errors = self._psycopg.errors
        transient = (errors.DeadlockDetected, errors.SerializationFailure,
                     errors.LockNotAvailable)
        for attempt in range(RETRIES):
            try:
                with self.conn.transaction():
                    self._write(pending)
                return
            except transient as exc:
                log.warning("collector batch conflicted (%s); retrying", _short(exc))
                time.sleep(0.01 * (attempt + 1))
        raise StoreError(f"--db: a batch conflicted {RETRIES} times in a row")

    def _update_counts(self, rows: list[tuple], at: float) -> None:
        # One statement for the whole batch (not one per bin): the batch's keys are locked.
        if not rows:
            return
        cols = [list(c) for c in zip(*rows, strict=True)]
        self.conn.execute(
            "UPDATE counts c SET count = u.count, version = u.version, received_at = %s"
            " FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::integer[],"
            " %s::text[], %s::bigint[], %s::integer[])"
            " AS u(site, node, sensor, start, seconds, direction, count, version)"
            " WHERE c.site = u.site AND c.node = u.node AND c.sensor = u.sensor"
            " AND c.start = u.start AND c.seconds = u.seconds AND c.direction = u.direction",
            [at, *cols])

    def _execute(self, sql: str, args: Sequence = ()) -> None:
        self.conn.execute(sql, args)

    def _many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(sql, rows)

    def _rows(self, sql: str, args: Sequence = ()) -> list[tuple]:
        return self.conn.execute(sql, args).fetchall()

    def _lock_and_read(self, table: str, columns: str, keys: list[CountKey],
                       values: str) -> dict[CountKey, tuple]:
        # A no-op upsert in key order: it creates a version-0 placeholder for a new key (which
        # the update overwrites) or locks the existing row, and RETURNING hands back the row
        # as it is under that lock -- including a row another collector committed meanwhile.
        cols = list(zip(*keys, strict=True))
        types = ("text", "text", "text", "bigint", "integer", "text")
        unnest = ", ".join(f"%s::{t}[]" for t in types)
        extra = "count, version, received_at" if table == "counts" else "n, version, received_at"
        rows = self.conn.execute(
            f"INSERT INTO {table} ({columns}, {extra})"
            f" SELECT k.*, 0, 0, 0 FROM unnest({unnest}) AS k ORDER BY 1, 2, 3, 4, 5, 6"
            f" ON CONFLICT ({columns}) DO UPDATE SET version = {table}.version"
            f" RETURNING {columns}, {values}", [list(c) for c in cols]).fetchall()
        width = len(values.split(","))
        return {tuple(r[:6]): tuple(r[6:6 + width]) for r in rows if r[7 if width == 2 else 6]}

    def close(self) -> None:
        self.conn.close()


def _short(exc: Any) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
