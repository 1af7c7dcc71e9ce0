"""What SQLite and PostgreSQL collector storage share: the batch write and the read queries.

SQL here uses %s placeholders and `INSERT ... ON CONFLICT ... DO UPDATE`, which both speak;
a backend supplies the connection primitives and `_lock_and_read` (see collector_store).
"""

import json
from collections.abc import Iterator, Sequence
from typing import Any

from cloud_bridge.collector_batch import (
    FLOW_SQL,
    HEALTH_HISTORY_S,
    CityDays,
    CountKey,
    PendingWrites,
    changes,
    flows_from_rows,
    newest_bins,
    newest_measures,
    sorted_rollup,
)
from walkway.timeutil import parse_iso

COUNT_COLUMNS = "site, node, sensor, start, seconds, direction"
MEASURE_COLUMNS = "site, node, sensor, start, seconds, quantity"


class StorageBase:
    """Subclasses set `placeholder` and implement the `_` primitives."""

    def __init__(self) -> None:
        self.pending = PendingWrites()
        self.days = CityDays()

    # -- primitives (backend) -----------------------------------------------------------
    def _execute(self, sql: str, args: Sequence = ()) -> None: ...
    def _many(self, sql: str, rows: list[tuple]) -> None: ...
    def _rows(self, sql: str, args: Sequence = ()) -> list[tuple]: ...
    def _begin(self) -> None: ...
    def _end(self, ok: bool) -> None: ...
    def _lock_and_read(self, table: str, columns: str, keys: list[CountKey],
                       values: str) -> dict[CountKey, tuple]: ...
    def _before_write(self, pending: PendingWrites) -> None:
        """Backend hook outside the transaction (PostgreSQL creates partitions)."""

    def _transaction(self, pending: PendingWrites) -> None:
        """Apply a batch; the caller retries it whole on a transient conflict."""
        self._begin()
        ok = False
        try:
            self._write(pending)
            ok = True
        finally:
            self._end(ok)

    # -- the write side -----------------------------------------------------------------
    def upsert(self, message: dict[str, Any], received_at: float) -> int:
        self.pending.messages.append(message)
        self.pending.received_at = received_at
        return len(message["bins"]) + len(message.get("measures", ()))

    def record_health(self, message: dict[str, Any], received_at: float) -> None:
        """Latest health per (site, node) -- a late, older snapshot never replaces a newer
        one -- and a history bounded to HEALTH_HISTORY_S."""
        self.pending.add_health(message, received_at)

    def record_result(self, message: dict[str, Any], received_at: float) -> None:
        self.pending.results.append((message, received_at))

    def bump(self, counter: str, n: int = 1) -> None:
        self.pending.counters[counter] += n

    def commit(self) -> None:
        pending, self.pending = self.pending, PendingWrites()
        if pending:
            self._before_write(pending)
            self._transaction(pending)

    def _write(self, p: PendingWrites) -> None:
        at = p.received_at
        new = newest_bins(p.messages)
        if new:
            keys = sorted(new)
            old = self._lock_and_read("counts", COUNT_COLUMNS, keys, "count, version")
            rows, hourly, daily = changes(new, old, self.days)
            self._update_counts(rows, at)
            for table, column, deltas in (("counts_hourly", "hour", hourly),
                                          ("counts_daily", "day", daily)):
                self._many(
                    f"INSERT INTO {table} (site, node, sensor, direction, {column}, count, bins)"
                    " VALUES (%s,%s,%s,%s,%s,%s,%s)"
                    f" ON CONFLICT (site, node, sensor, direction, {column}) DO UPDATE SET"
                    f" count = {table}.count + excluded.count,"
                    f" bins = {table}.bins + excluded.bins",
                    sorted_rollup(deltas))
        measures = newest_measures(p.messages)
        if measures:
            keys = sorted(measures)
            old = self._lock_and_read("measures", MEASURE_COLUMNS, keys, "version")
            self._many(
                # `at` bound, not written into the SQL: one text per batch was a new prepared
                # statement each time (128 kept per connection; found by the soak).
                "UPDATE measures SET n=%s, min=%s, mean=%s, max=%s, version=%s,"
                " received_at=%s WHERE site=%s AND node=%s AND sensor=%s AND start=%s"
                " AND seconds=%s AND quantity=%s",
                [(*measures[k], at, *k) for k in keys if measures[k][4] > old.get(k, (0,))[0]])
        for (site, node), (message, received_at) in sorted(p.health.items()):
            self._execute(
                "INSERT INTO node_health (site, node, at, received_at, body)"
                " VALUES (%s,%s,%s,%s,%s) ON CONFLICT (site, node) DO UPDATE SET"
                " at=excluded.at, received_at=excluded.received_at, body=excluded.body"
                " WHERE excluded.at >= node_health.at",
                (site, node, parse_iso(message["at"]), received_at, _dump(message)))
        if p.history:
            self._many("INSERT INTO health_history (site, node, at, received_at, body)"
                       " VALUES (%s,%s,%s,%s,%s)",
                       [(m["site"], m["node"], parse_iso(m["at"]), r, _dump(m))
                        for m, r in p.history])
            newest = max(r for _m, r in p.history)
            self._execute("DELETE FROM health_history WHERE received_at < %s",
                          (newest - HEALTH_HISTORY_S,))
        self._many(
            "INSERT INTO cmd_results (site, node, id, command, status, at, received_at, body)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
            [(m["site"], m["node"], m["id"], m["command"], m["status"], parse_iso(m["at"]),
              r, _dump(m)) for m, r in p.results])
        self._many("INSERT INTO collector_counters (name, value) VALUES (%s, %s)"
                   " ON CONFLICT (name) DO UPDATE SET"
                   " value = collector_counters.value + excluded.value",
                   sorted(p.counters.items()))

    def _update_counts(self, rows: list[tuple], at: float) -> None:
        """Write (site, node, sensor, start, seconds, direction, count, version) rows whose
        keys `_lock_and_read` holds."""
        self._many(
            "UPDATE counts SET count=%s, version=%s, received_at=%s"
            " WHERE site=%s AND node=%s AND sensor=%s AND start=%s AND seconds=%s"
            " AND direction=%s",
            [(r[6], r[7], at, *r[:6]) for r in rows])

    # -- the read side ------------------------------------------------------------------
    def _dicts(self, sql: str, names: str, args: Sequence = ()) -> Iterator[dict[str, Any]]:
        keys = [n.strip() for n in names.split(",")]
        for row in self._rows(sql, args):
            yield dict(zip(keys, row, strict=True))

    def counts(self) -> Iterator[dict[str, Any]]:
        names = f"{COUNT_COLUMNS}, count, version"
        return self._dicts(f"SELECT {names} FROM counts"
                           " ORDER BY site, node, sensor, start, direction", names)

    def measures(self) -> Iterator[dict[str, Any]]:
        names = f"{MEASURE_COLUMNS}, n, min, mean, max, version"
        return self._dicts(f"SELECT {names} FROM measures"
                           " ORDER BY site, node, sensor, start, quantity", names)

    def rollup(self, period: str, since: float, until: float,
               series: Sequence[tuple[str, str, str]] | None = None) -> list[dict[str, Any]]:
        """Hourly ("hour") or city-day ("day") totals per series in [since, until), optionally
        only for some (site, node, sensor) series."""
        table, column = ("counts_hourly", "hour") if period == "hour" else ("counts_daily", "day")
        names = f"site, node, sensor, direction, {column}, count, bins"
        args: list = [int(since), int(until)]
        where = _series_filter(series, args)
        return list(self._dicts(
            f"SELECT {names} FROM {table} WHERE {column} >= %s AND {column} < %s{where}"
            f" ORDER BY {column}, site, node, sensor, direction", names, args))

    def rollup_rows(self, period: str, since: float, until: float,
                    series: Sequence[tuple[str, str, str]] | None = None) -> list[tuple]:
        """Like `rollup`, as (site, node, sensor, direction, start, count) tuples."""
        table, column = ("counts_hourly", "hour") if period == "hour" else ("counts_daily", "day")
        args: list = [int(since), int(until)]
        return self._rows(
            f"SELECT site, node, sensor, direction, {column}, count FROM {table}"
            f" WHERE {column} >= %s AND {column} < %s{_series_filter(series, args)}", args)

    def rollup_totals(self, since: float, until: float, utc_offset_s: int | None = None,
                      series: Sequence[tuple[str, str, str]] | None = None) -> list[tuple]:
        """Hourly rollups summed in the database over [since, until): per series
        (site, node, sensor, direction, total), or with `utc_offset_s` per series and local
        hour of day (site, node, sensor, direction, hour_of_day, total)."""
        args: list = []
        hod = ""
        if utc_offset_s is not None:
            hod = ", ((hour + %s) %% 86400) / 3600"
            args.append(int(utc_offset_s))
        args += [int(since), int(until)]
        keys = "site, node, sensor, direction" + hod
        where = _series_filter(series, args)
        groups = "1, 2, 3, 4, 5" if hod else "1, 2, 3, 4"
        return self._rows(f"SELECT {keys}, sum(count) FROM counts_hourly"
                          f" WHERE hour >= %s AND hour < %s{where} GROUP BY {groups}", args)

    def extent(self) -> tuple[int | None, int | None]:
        """First and last hour with any counts."""
        row = self._rows("SELECT min(hour), max(hour) FROM counts_hourly")[0]
        return row[0], row[1]

    def measure_rollup(self, since: float, until: float) -> list[dict[str, Any]]:
        names = "site, node, sensor, quantity, hour, mean, max"
        return list(self._dicts(
            "SELECT site, node, sensor, quantity, start - start %% 3600 AS hour, avg(mean),"
            " max(max) FROM measures WHERE start >= %s AND start < %s"
            " GROUP BY site, node, sensor, quantity, hour ORDER BY hour", names,
            (int(since), int(until))))

    def latest_health(self) -> dict[str, dict[str, Any]]:
        """"site/node" -> the newest health snapshot."""
        return {f"{site}/{node}": json.loads(body) for site, node, body in self._rows(
            "SELECT site, node, body FROM node_health ORDER BY site, node")}

    def health_history(self, node: str, site: str | None = None) -> list[dict[str, Any]]:
        rows = self._rows("SELECT site, body FROM health_history WHERE node=%s ORDER BY at",
                          (node,))
        return [json.loads(body) for s, body in rows if site is None or s == site]

    def results(self, command_id: str) -> list[dict[str, Any]]:
        return [json.loads(b) for (b,) in self._rows(
            "SELECT body FROM cmd_results WHERE id=%s ORDER BY received_at", (command_id,))]

    def counter(self, name: str) -> int:
        rows = self._rows("SELECT value FROM collector_counters WHERE name=%s", (name,))
        return int(rows[0][0]) if rows else 0

    def site_flows(self, now: float, window_s: int,
                   recent_s: float = 3600) -> dict[str, dict[str, float]]:
        """{site: {"node/sensor": per_minute}} from bins received in the last `recent_s`."""
        return flows_from_rows(self._rows(FLOW_SQL, (now - recent_s, window_s)))


def _series_filter(series: Sequence[tuple[str, str, str]] | None, args: list) -> str:
    """SQL restricting rows to some (site, node, sensor) series (None: all); adds its args."""
    if series is None:
        return ""
    if not series:
        return " AND 1 = 0"
    args += [x for s in series for x in s]
    return " AND (" + " OR ".join(
        "(site = %s AND node = %s AND sensor = %s)" for _ in series) + ")"


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))
