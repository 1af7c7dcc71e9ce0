"""The Store's named reads and the remote-command log, split out of edge/store.py to keep it
small. Mixins of edge.store.Store: they use its private connection, nobody else does."""

import json
import sqlite3
from collections.abc import Iterable


class CommandLog:
    """Results of accepted remote commands (cloud_bridge/downlink), kept until they expire,
    so a re-delivered command is answered again and never runs twice."""

    _conn: sqlite3.Connection

    def record_command(self, cmd_id: str, command: str, received_at: float,
                       expires_at: float, result: dict) -> None:
        self._write_durably(
            "INSERT INTO commands(id, command, received_at, expires_at, status, result)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET status=excluded.status,"
            " result=excluded.result",
            (cmd_id, command, received_at, expires_at, result["status"], json.dumps(result)))

    def update_command(self, cmd_id: str, result: dict) -> None:
        self._write_durably("UPDATE commands SET status=?, result=? WHERE id=?",
                            (result["status"], json.dumps(result), cmd_id))

    def _write_durably(self, sql: str, args: tuple) -> None:
        """One statement committed with synchronous=FULL. The bridge's connection runs at
        NORMAL (a delivery mark lost in a power cut only means a re-send), but a command's
        record must survive one: without it a re-delivered command runs again, and a
        set-config still `accepted` loses the watch that rolls a bad config back (found with
        the power-cut filesystem, issue 18)."""
        level = self._conn.execute("PRAGMA synchronous").fetchone()[0]
        if level >= 2:  # FULL or EXTRA already
            self._conn.execute(sql, args)
            return
        self._conn.execute("PRAGMA synchronous=FULL")
        try:
            self._conn.execute(sql, args)
        finally:
            self._conn.execute(f"PRAGMA synchronous={int(level)}")

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



class CountReader:
    """What the crew CLI and the sign read from the bins."""

    _conn: sqlite3.Connection

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
