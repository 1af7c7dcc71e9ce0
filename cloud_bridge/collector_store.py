"""Collector storage behind a small interface; SQLite is the embedded default.

Upserts are idempotent: a re-sent bin with the same version changes nothing, a later
version replaces the earlier one, an older version is ignored.
"""

import json
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
# Neighbours' flows (cloud_bridge/flows.py): per node/sensor, the counts of its newest bins.
FLOW_SQL = """
WITH recent AS (
    SELECT site, node, sensor, start, seconds, count FROM counts WHERE received_at >= ?
), newest AS (
    SELECT site, node, sensor, max(start + seconds) AS until FROM recent
    GROUP BY site, node, sensor
)
SELECT r.site, r.node, r.sensor, sum(r.count), n.until - min(r.start) FROM recent r JOIN newest n
    USING (site, node, sensor)
WHERE r.start >= n.until - ?
GROUP BY r.site, r.node, r.sensor
"""
HEALTH_HISTORY_S = 30 * 86400  # health snapshots kept per node (the latest is kept forever)


class CollectorStorage(Protocol):
    def upsert(self, message: dict[str, Any], received_at: float) -> int: ...
    def bump(self, counter: str, n: int = 1) -> None: ...
    def record_health(self, message: dict[str, Any], received_at: float) -> None: ...
    def record_result(self, message: dict[str, Any], received_at: float) -> None: ...
    def commit(self) -> None: ...
    def counts(self) -> Iterator[dict[str, Any]]: ...
    def site_flows(self, now: float, window_s: int) -> dict[str, dict[str, float]]: ...
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

    def record_health(self, message: dict[str, Any], received_at: float) -> None:
        """Latest health per node (a late, older snapshot never replaces a newer one) and
        a history bounded to HEALTH_HISTORY_S."""
        at = parse_iso(message["at"])
        body = json.dumps(message, separators=(",", ":"))
        self.conn.execute(
            "INSERT INTO node_health VALUES (?,?,?,?,?) ON CONFLICT(node) DO UPDATE SET"
            " site=excluded.site, at=excluded.at, received_at=excluded.received_at,"
            " body=excluded.body WHERE excluded.at >= node_health.at",
            (message["node"], message["site"], at, received_at, body))
        self.conn.execute("INSERT INTO health_history VALUES (?,?,?,?,?)",
                          (message["site"], message["node"], at, received_at, body))
        self.conn.execute("DELETE FROM health_history WHERE received_at < ?",
                          (received_at - HEALTH_HISTORY_S,))

    def latest_health(self) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute("SELECT node, body FROM node_health ORDER BY node")
        return {node: json.loads(body) for node, body in rows}

    def health_history(self, node: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT body FROM health_history WHERE node=? ORDER BY at", (node,))
        return [json.loads(body) for (body,) in rows]

    def record_result(self, message: dict[str, Any], received_at: float) -> None:
        self.conn.execute(
            "INSERT INTO cmd_results VALUES (?,?,?,?,?,?,?,?)",
            (message["site"], message["node"], message["id"], message["command"],
             message["status"], parse_iso(message["at"]), received_at,
             json.dumps(message, separators=(",", ":"))))

    def results(self, command_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT body FROM cmd_results WHERE id=? ORDER BY received_at", (command_id,))
        return [json.loads(body) for (body,) in rows]

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

    def site_flows(self, now: float, window_s: int,
                   recent_s: float = 3600) -> dict[str, dict[str, float]]:
        """{site: {"node/sensor": per_minute}} from bins received in the last `recent_s`."""
        out: dict[str, dict[str, float]] = {}
        rows = self.conn.execute(FLOW_SQL, (now - recent_s, window_s))
        for site, node, sensor, total, covered in rows:
            # Per minute over the span the bins cover, so a sensor with two minutes of data is
            # not diluted over the whole window.
            out.setdefault(site, {})[f"{node}/{sensor}"] = round(total * 60 / covered, 2)
        return out

    def close(self) -> None:
        self.conn.close()
