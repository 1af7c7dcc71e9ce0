"""The collector's batch write, backend-neutral: newest versions, deltas, rollup keys.

See cloud_bridge.collector_store for the write path these helpers serve.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from walkway.timeutil import CITY_TIMEZONE, parse_iso

HEALTH_HISTORY_S = 30 * 86400  # health snapshots kept per node (the latest is kept forever)
HOUR_S = 3600

CountKey = tuple[str, str, str, int, int, str]  # site, node, sensor, start, seconds, direction
RollupKey = tuple[str, str, str, str, int]  # site, node, sensor, direction, hour or day


class CityDays:
    """Epoch of the city-local midnight that starts the day holding an instant."""

    def __init__(self, timezone: str = CITY_TIMEZONE) -> None:
        self.zone = ZoneInfo(timezone)
        self._by_hour: dict[int, int] = {}

    def day_of(self, epoch: int) -> int:
        hour = epoch - epoch % HOUR_S
        if hour not in self._by_hour:
            local = datetime.fromtimestamp(hour, self.zone)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            self._by_hour[hour] = int(midnight.timestamp())
        return self._by_hour[hour]


def newest_bins(messages: Iterable[dict[str, Any]]) -> dict[CountKey, tuple[int, int]]:
    """Key -> (count, version), the highest version of each key in these messages."""
    starts: dict[str, int] = {}
    out: dict[CountKey, tuple[int, int]] = {}
    for message in messages:
        site, node = message["site"], message["node"]
        for b in message["bins"]:
            text = b["start"]
            if text not in starts:
                starts[text] = int(parse_iso(text))
            key = (site, node, b["sensor"], starts[text], b["seconds"], b["direction"])
            old = out.get(key)
            if old is None or b["version"] > old[1]:
                out[key] = (b["count"], b["version"])
    return out


def newest_measures(messages: Iterable[dict[str, Any]]) -> dict[CountKey, tuple]:
    """Key (quantity in place of direction) -> (n, min, mean, max, version)."""
    out: dict[CountKey, tuple] = {}
    for message in messages:
        for m in message.get("measures", ()):
            key = (message["site"], message["node"], m["sensor"], int(parse_iso(m["start"])),
                   m["seconds"], m["quantity"])
            old = out.get(key)
            if old is None or m["version"] > old[4]:
                out[key] = (m["n"], m["min"], m["mean"], m["max"], m["version"])
    return out


def changes(new: dict[CountKey, tuple[int, int]], old: dict[CountKey, tuple[int, int]],
            days: CityDays) -> tuple[list[tuple], dict[RollupKey, list[int]],
                                     dict[RollupKey, list[int]]]:
    """Rows to write, and (count delta, new-bin delta) per hourly and per daily rollup key."""
    rows: list[tuple] = []
    hourly: dict[RollupKey, list[int]] = defaultdict(lambda: [0, 0])
    daily: dict[RollupKey, list[int]] = defaultdict(lambda: [0, 0])
    for key in sorted(new):
        count, version = new[key]
        old_count, old_version = old.get(key, (0, 0))
        if version <= old_version:
            continue  # a re-send or an older version: nothing changes
        rows.append((*key, count, version))
        site, node, sensor, start, _seconds, direction = key
        added = 1 if old_version == 0 else 0
        for table, period in ((hourly, start - start % HOUR_S), (daily, days.day_of(start))):
            acc = table[(site, node, sensor, direction, period)]
            acc[0] += count - old_count
            acc[1] += added
    return rows, hourly, daily


def sorted_rollup(table: dict[RollupKey, list[int]]) -> list[tuple]:
    return [(*key, d[0], d[1]) for key, d in sorted(table.items()) if d[0] or d[1]]


class PendingWrites:
    """What one batch will write; applied by the backend in one transaction at commit."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.received_at = 0.0
        self.health: dict[tuple[str, str], tuple[dict[str, Any], float]] = {}
        self.history: list[tuple[dict[str, Any], float]] = []
        self.results: list[tuple[dict[str, Any], float]] = []
        self.counters: dict[str, int] = defaultdict(int)

    def __bool__(self) -> bool:
        return bool(self.messages or self.health or self.results or self.counters)

    def add_health(self, message: dict[str, Any], received_at: float) -> None:
        key = (message["site"], message["node"])
        self.history.append((message, received_at))
        old = self.health.get(key)
        if old is None or parse_iso(message["at"]) >= parse_iso(old[0]["at"]):
            self.health[key] = (message, received_at)


def flows_from_rows(rows: Iterable[tuple]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for site, node, sensor, total, covered in rows:
        # Per minute over the span the bins cover, so a sensor with two minutes of data is
        # not diluted over the whole window.
        out.setdefault(site, {})[f"{node}/{sensor}"] = round(float(total) * 60 / covered, 2)
    return out


# Flows (cloud_bridge.flows): the newest bins of each sensor received lately. %s placeholders:
# psycopg's style; the SQLite backend swaps them for "?".
FLOW_SQL = """
WITH recent AS (
    SELECT site, node, sensor, start, seconds, count FROM counts WHERE received_at >= %s
), newest AS (
    SELECT site, node, sensor, max(start + seconds) AS until FROM recent
    GROUP BY site, node, sensor
)
SELECT r.site, r.node, r.sensor, sum(r.count), n.until - min(r.start) FROM recent r JOIN newest n
    USING (site, node, sensor)
WHERE r.start >= n.until - %s
GROUP BY r.site, r.node, r.sensor, n.until
"""


