"""Collector storage behind a small interface; SQLite is the embedded default.

Upserts are idempotent: a re-sent bin with the same version changes nothing, a later
version replaces the earlier one, an older version is ignored.
"""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from walkway.errors import StoreError
from walkway.timeutil import parse_iso

SCHEMA = """
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
CREATE TABLE IF NOT EXISTS collector_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class CollectorStorage(Protocol):
    def upsert(self, message: dict[str, Any], received_at: float) -> int: ...
    def bump(self, counter: str, n: int = 1) -> None: ...
    def commit(self) -> None: ...
    def counts(self) -> Iterator[dict[str, Any]]: ...
    def close(self) -> None: ...


class SqliteCollectorStorage:
    def __init__(self, path: str | Path) -> None:
        try:
            # Built by the CLI thread, then used only by the collector loop.
            self.conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open collector database: {exc}") from exc
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self.conn.execute("PRAGMA user_version=1")

    def upsert(self, message: dict[str, Any], received_at: float) -> int:
        site, node = message["site"], message["node"]
        starts: dict[str, int] = {}

        def start_of(text: str) -> int:
            if text not in starts:
                starts[text] = int(parse_iso(text))
            return starts[text]

        self.conn.executemany(
            "INSERT INTO counts VALUES (?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(node, sensor, start, seconds, direction) DO UPDATE SET"
            "  count=excluded.count, version=excluded.version, received_at=excluded.received_at"
            " WHERE excluded.version > counts.version",
            [(site, node, b["sensor"], start_of(b["start"]), b["seconds"], b["direction"],
              b["count"], b["version"], received_at) for b in message["bins"]],
        )
        measures = message.get("measures", ())
        self.conn.executemany(
            "INSERT INTO measures VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(node, sensor, start, seconds, quantity) DO UPDATE SET"
            "  n=excluded.n, min=excluded.min, mean=excluded.mean, max=excluded.max,"
            "  version=excluded.version, received_at=excluded.received_at"
            " WHERE excluded.version > measures.version",
            [(site, node, m["sensor"], start_of(m["start"]), m["seconds"], m["quantity"],
              m["n"], m["min"], m["mean"], m["max"], m["version"], received_at)
             for m in measures],
        )
        return len(message["bins"]) + len(measures)

    def bump(self, counter: str, n: int = 1) -> None:
        self.conn.execute(
            "INSERT INTO collector_counters VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (counter, n),
        )

    def counter(self, name: str) -> int:
        row = self.conn.execute(
            "SELECT value FROM collector_counters WHERE name=?", (name,)
        ).fetchone()
        return row[0] if row else 0

    def commit(self) -> None:
        self.conn.commit()

    def counts(self) -> Iterator[dict[str, Any]]:
        cur = self.conn.execute(
            "SELECT node, sensor, start, seconds, direction, count, version FROM counts"
            " ORDER BY node, sensor, start, direction"
        )
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row, strict=True))

    def measures(self) -> Iterator[dict[str, Any]]:
        cur = self.conn.execute(
            "SELECT node, sensor, start, seconds, quantity, n, min, mean, max, version"
            " FROM measures ORDER BY node, sensor, start, quantity"
        )
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row, strict=True))

    def close(self) -> None:
        self.conn.close()
