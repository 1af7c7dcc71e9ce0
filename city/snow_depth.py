"""Snow on each segment since its last clearing: node gauges when near, else a ward station.

Sources, best first, and every segment says which it used (`snow_source`):
  1. a node's snow-depth gauge (`snow_depth_mm` measures in the collector) within `gauge_m`
     metres of the segment midpoint: the newest reading on or before the plan time, minus the
     reading at the segment's last clearing (never below 0); never cleared: the reading itself;
  2. the nearest City of Sapporo ward station (sapporo_weather_daily.csv): never cleared: the
     station's snow depth on the newest day known at plan time; cleared at time t: the daily
     snowfall (each day's 24 h window, 09:00 JST the day before to 09:00 that day, spread
     evenly over it) that fell after t, over the windows that have ended by the plan time.
     Station positions (STATIONS) are approximate, from the neighbourhood in each station's
     name (the data has none); the nearest one to Hakken, 西区(西野), is about 4 km away.
A plan time outside the weather file is an error naming the file and its range, never zero.
"""

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from city.roads import RoadNetwork, haversine_m
from walkway.errors import ConfigError

TZ = ZoneInfo("Asia/Tokyo")
DEFAULT_GAUGE_M = 400.0
DAY_S = 86400
STATIONS: dict[str, tuple[float, float]] = {  # station -> (lat, lon), approximate
    "中央区": (43.0554, 141.3409), "北区(太平)": (43.1206, 141.3556),
    "北区(あいの里)": (43.1607, 141.3993), "東区": (43.0760, 141.3633),
    "白石区": (43.0474, 141.4051), "厚別区": (43.0362, 141.4750),
    "豊平区": (43.0313, 141.3801), "清田区": (42.9996, 141.4438),
    "南区(南31条西8丁目)": (43.0043, 141.3487), "南区(定山渓)": (42.9677, 141.1656),
    "西区(平和)": (43.0534, 141.2536), "西区(西野)": (43.0660, 141.2740),
    "手稲区": (43.1218, 141.2452),
}


@dataclass
class Weather:
    source: str
    snowfall: dict[str, dict[date, float]]   # station -> day -> cm (24 h to 09:00)
    depth: dict[str, dict[date, float]]      # station -> day -> cm

    @property
    def days(self) -> tuple[date, date]:
        all_days = [d for per in self.snowfall.values() for d in per]
        return min(all_days), max(all_days)


def load_weather(path: Path | str) -> Weather:
    path = Path(path)
    w = Weather(str(path), {}, {})
    try:
        with open(path, encoding="utf-8", newline="") as f:
            for i, row in enumerate(csv.DictReader(f), start=2):
                try:
                    day = date.fromisoformat(row["date"])
                    value = float(row["value_cm"])
                    kind, station = row["kind"], row["station"]
                except (KeyError, ValueError, TypeError) as exc:
                    raise ConfigError([f"{path}:{i}: date (YYYY-MM-DD), station, kind and"
                                       f" value_cm (a number) expected: {exc}"]) from exc
                table = {"snowfall": w.snowfall, "snowdepth": w.depth}.get(kind)
                if table is not None:
                    table.setdefault(station, {})[day] = value
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read weather file: {exc.strerror}"]) from exc
    if not w.snowfall:
        raise ConfigError([f"{path}: no snowfall rows (kind=snowfall)"])
    return w


def nearest_station(weather: Weather, lon: float, lat: float,
                    stations: dict[str, tuple[float, float]] = STATIONS) -> tuple[str, float]:
    known = [(haversine_m(lon, lat, s_lon, s_lat), name)
             for name, (s_lat, s_lon) in stations.items() if name in weather.snowfall]
    if not known:
        raise ConfigError([f"{weather.source}: none of its stations has a known position"])
    d, name = min(known)
    return name, d


def window_end(day: date) -> float:
    """A day's snowfall is the 24 h up to 09:00 JST that day."""
    return datetime.combine(day, time(9), TZ).timestamp()


def last_known_day(plan_at: float) -> date:
    """The newest day whose snowfall window has ended by `plan_at` (known at plan time)."""
    local = datetime.fromtimestamp(plan_at, TZ)
    return local.date() if local.time() >= time(9) else local.date() - timedelta(days=1)


def station_snow(weather: Weather, station: str, plan_at: float,
                 cleared_at: float | None) -> float:
    first, last = weather.days
    day = last_known_day(plan_at)
    if not first <= day <= last:
        raise ConfigError([f"{weather.source}: plan time's newest snow day {day} is outside"
                           f" the weather data ({first} to {last})"])
    if cleared_at is None:
        depth = weather.depth.get(station, {}).get(day)
        if depth is not None:
            return depth
        cleared_at = window_end(first) - DAY_S  # no depth column: the season's snowfall
    total = 0.0
    # Each day's snowfall is spread evenly over its 24 h window; only the part of a window
    # after the clearing counts (daily totals cannot say when in the day it fell).
    while day >= first and window_end(day) > cleared_at:
        end = window_end(day)
        part = (end - max(end - DAY_S, cleared_at)) / DAY_S
        total += weather.snowfall[station].get(day, 0.0) * part
        day -= timedelta(days=1)
    return total


@dataclass(frozen=True)
class Gauge:
    node: str
    lon: float
    lat: float
    readings: tuple[tuple[float, float], ...]  # (epoch, depth cm), oldest first

    def depth_at(self, at: float) -> float | None:
        before = [cm for t, cm in self.readings if t <= at]
        return before[-1] if before else None


@dataclass(frozen=True)
class SegmentSnow:
    snow_cm: float
    source: str       # gauge:<node> | station:<name>
    cleared_at: float | None


def segment_snow(net: RoadNetwork, weather: Weather, plan_at: float, gauges: list[Gauge],
                 clearings: dict[str, float], gauge_m: float = DEFAULT_GAUGE_M
                 ) -> dict[str, SegmentSnow]:
    out = {}
    station_cache: dict[tuple[float, float], str] = {}
    for seg_id, seg in sorted(net.segments.items()):
        lon, lat = seg.midpoint
        cleared = clearings.get(seg_id)
        if cleared is not None and cleared > plan_at:
            cleared = None  # a clearing after the plan time is not known at plan time
        near = sorted((haversine_m(lon, lat, g.lon, g.lat), g.node, g) for g in gauges)
        near = [g for d, _, g in near if d <= gauge_m and g.depth_at(plan_at) is not None]
        if near:
            g = near[0]
            now = g.depth_at(plan_at) or 0.0
            then = g.depth_at(cleared) if cleared is not None else None
            # Never cleared, or no reading from before the clearing: all of it is on the road.
            snow = now if then is None else max(0.0, now - then)
            out[seg_id] = SegmentSnow(snow, f"gauge:{g.node}", cleared)
            continue
        key = (round(lon, 3), round(lat, 3))
        if key not in station_cache:
            station_cache[key] = nearest_station(weather, lon, lat)[0]
        station = station_cache[key]
        out[seg_id] = SegmentSnow(station_snow(weather, station, plan_at, cleared),
                                  f"station:{station}", cleared)
    return out
