"""SQLite collector storage: the embedded default (one collector process, one file).

Schema versioned with PRAGMA user_version; `MIGRATIONS` are appended, never edited. Version 2
put the site into every key (issue 15): before it, a node with the same id at another site
was acknowledged as stored and its counts silently discarded.
"""

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from cloud_bridge.collector_base import StorageBase
from cloud_bridge.collector_batch import CountKey, changes
from walkway.errors import StoreError
from walkway.memory import bound_sqlite_cache

V1 = """
CREATE TABLE IF NOT EXISTS counts (
    site TEXT NOT NULL, node TEXT NOT NULL, sensor TEXT NOT NULL, start INTEGER NOT NULL,
    seconds INTEGER NOT NULL, direction TEXT NOT NULL, count INTEGER NOT NULL,
    version INTEGER NOT NULL, received_at REAL NOT NULL,
    PRIMARY KEY (node, sensor, start, seconds, direction)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS measures (
    site TEXT NOT NULL, node TEXT NOT NULL, sensor TEXT NOT NULL, start INTEGER NOT NULL,
    seconds INTEGER NOT NULL, quantity TEXT NOT NULL, n INTEGER NOT NULL, min REAL,
    mean REAL, max REAL, version INTEGER NOT NULL, received_at REAL NOT NULL,
    PRIMARY KEY (node, sensor, start, seconds, quantity)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counts_by_received ON counts(received_at);
CREATE TABLE IF NOT EXISTS collector_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS node_health (
    node TEXT PRIMARY KEY, site TEXT NOT NULL, at REAL NOT NULL, received_at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS health_history (
    site TEXT NOT NULL, node TEXT NOT NULL, at REAL NOT NULL, received_at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS health_history_by_node ON health_history(node, at);
CREATE INDEX IF NOT EXISTS health_history_by_received ON health_history(received_at);
CREATE TABLE IF NOT EXISTS cmd_results (
    site TEXT NOT NULL, node TEXT NOT NULL, id TEXT, command TEXT, status TEXT NOT NULL,
    at REAL NOT NULL, received_at REAL NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cmd_results_by_id ON cmd_results(id);
"""

# 2: the site in every key; hourly and city-day rollups (rebuilt from the bins by
# `_rebuild_rollups` after this runs).
V2 = """
ALTER TABLE counts RENAME TO counts_v1;
CREATE TABLE counts (
    site TEXT NOT NULL, node TEXT NOT NULL, sensor TEXT NOT NULL, start INTEGER NOT NULL,
    seconds INTEGER NOT NULL, direction TEXT NOT NULL, count INTEGER NOT NULL,
    version INTEGER NOT NULL, received_at REAL NOT NULL,
    PRIMARY KEY (site, node, sensor, start, seconds, direction)
) WITHOUT ROWID;
INSERT INTO counts SELECT * FROM counts_v1;
DROP TABLE counts_v1;
CREATE INDEX counts_by_received ON counts(received_at);
ALTER TABLE measures RENAME TO measures_v1;
CREATE TABLE measures (
    site TEXT NOT NULL, node TEXT NOT NULL, sensor TEXT NOT NULL, start INTEGER NOT NULL,
    seconds INTEGER NOT NULL, quantity TEXT NOT NULL, n INTEGER NOT NULL, min REAL,
    mean REAL, max REAL, version INTEGER NOT NULL, received_at REAL NOT NULL,
    PRIMARY KEY (site, node, sensor, start, seconds, quantity)
) WITHOUT ROWID;
INSERT INTO measures SELECT * FROM measures_v1;
DROP TABLE measures_v1;
CREATE INDEX measures_by_start ON measures(start);
ALTER TABLE node_health RENAME TO node_health_v1;
CREATE TABLE node_health (
    site TEXT NOT NULL, node TEXT NOT NULL, at REAL NOT NULL, received_at REAL NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (site, node)
);
INSERT INTO node_health SELECT site, node, at, received_at, body FROM node_health_v1;
DROP TABLE node_health_v1;
CREATE TABLE counts_hourly (
    site TEXT NOT NULL, node TEXT NOT NULL, sensor TEXT NOT NULL, direction TEXT NOT NULL,
    hour INTEGER NOT NULL, count INTEGER NOT NULL, bins INTEGER NOT NULL,
    PRIMARY KEY (site, node, sensor, direction, hour)
) WITHOUT ROWID;
CREATE INDEX counts_hourly_by_hour ON counts_hourly(hour);
CREATE TABLE counts_daily (
    site TEXT NOT NULL, node TEXT NOT NULL, sensor TEXT NOT NULL, direction TEXT NOT NULL,
    day INTEGER NOT NULL, count INTEGER NOT NULL, bins INTEGER NOT NULL,
    PRIMARY KEY (site, node, sensor, direction, day)
) WITHOUT ROWID;
CREATE INDEX counts_daily_by_day ON counts_daily(day);
"""
MIGRATIONS: tuple[str, ...] = (V1, V2)


class SqliteCollectorStorage(StorageBase):
    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        try:
            # Built by the CLI thread, then used only by the collector loop. Autocommit mode:
            # transactions are explicit (BEGIN IMMEDIATE holds the write lock from the read
            # of the old versions to the commit).
            self.conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False,
                                        isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            bound_sqlite_cache(self.conn)
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open collector database: {exc}") from exc

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path}: collector database schema {version} is newer than"
                             f" this walkway ({len(MIGRATIONS)})")
        for number in range(version + 1, len(MIGRATIONS) + 1):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(MIGRATIONS[number - 1]):
                    self.conn.execute(statement)
                if number == 2:
                    self._rebuild_rollups()
                self.conn.execute(f"PRAGMA user_version={number}")
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def _rebuild_rollups(self) -> None:
        new = {tuple(r[:6]): (r[6], r[7]) for r in self.conn.execute(
            "SELECT site, node, sensor, start, seconds, direction, count, version FROM counts")}
        _rows, hourly, daily = changes(new, {}, self.days)
        for table, column, deltas in (("counts_hourly", "hour", hourly),
                                      ("counts_daily", "day", daily)):
            self.conn.executemany(
                f"INSERT INTO {table} (site, node, sensor, direction, {column}, count, bins)"
                " VALUES (?,?,?,?,?,?,?)", [(*k, d[0], d[1]) for k, d in sorted(deltas.items())])

    # -- primitives ---------------------------------------------------------------------
    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%s", "?").replace("%%", "%")

    def _execute(self, sql: str, args: Sequence = ()) -> None:
        self.conn.execute(self._sql(sql), args)

    def _many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self.conn.executemany(self._sql(sql), rows)

    def _rows(self, sql: str, args: Sequence = ()) -> list[tuple]:
        return self.conn.execute(self._sql(sql), args).fetchall()

    def _begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def _end(self, ok: bool) -> None:
        self.conn.execute("COMMIT" if ok else "ROLLBACK")

    def _lock_and_read(self, table: str, columns: str, keys: list[CountKey],
                       values: str) -> dict[CountKey, tuple]:
        # BEGIN IMMEDIATE already holds the database's write lock: read, then make sure
        # every key has a row (a placeholder of version 0 that the update overwrites).
        marks = ",".join("?" * 6)
        found: dict[CountKey, tuple] = {}
        for key in keys:
            row = self.conn.execute(
                f"SELECT {values} FROM {table} WHERE ({columns}) = ({marks})", key).fetchone()
            if row is not None:
                found[key] = tuple(row)
        missing = [k for k in keys if k not in found]
        if table == "counts":
            self.conn.executemany(f"INSERT INTO counts ({columns}, count, version, received_at)"
                                  f" VALUES ({marks}, 0, 0, 0)", missing)
        else:
            self.conn.executemany(f"INSERT INTO measures ({columns}, n, version, received_at)"
                                  f" VALUES ({marks}, 0, 0, 0)", missing)
        return found

    def close(self) -> None:
        self.conn.close()


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
