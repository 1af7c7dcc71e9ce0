"""People per place from the collector's rollups: what every page and API answer is built on.

A place's people figure for an hour is the sum of its counters' "people" series
(city.places.figure_of); BLE's lower/upper bounds are summed apart as `lower`/`upper` (only
BLE counters have them: for other counters both bounds equal the count). An hour with no
bin at all is missing (None), never zero: no data must never read as a quiet hour.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from city.places import Place, PlaceModel, figure_of

HOUR = 3600
DAY = 86400
STEP_M = 0.7  # average adult step length, metres (walking-steps KPI)
KPI_STEPS_PER_PERSON = 1500  # Smart Wellness City target: +1,500 steps per citizen per day


@dataclass
class Series:
    """One place's figure per period start (epoch): people, and BLE's bounds."""
    people: dict[int, int]
    lower: dict[int, int]
    upper: dict[int, int]


def place_series(storage: Any, model: PlaceModel, period: str, since: float, until: float,
                 places: list[Place] | None = None) -> dict[str, Series]:
    chosen = places if places is not None else list(model.places.values())
    wanted = sorted({(p.site, c.node, c.sensor) for p in chosen for c in p.counters})
    out = {p.id: Series({}, {}, {}) for p in chosen}
    ids = {p.id for p in chosen}
    column = "hour" if period == "hour" else "day"
    bounds: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    for r in storage.rollup(period, since, until, wanted):
        kind = figure_of(r["sensor"], r["direction"])
        at = int(r[column])
        if kind == "people":
            for place in model.places_of(r["site"], r["node"], r["sensor"], r["direction"]):
                if place.id in ids:
                    s = out[place.id]
                    s.people[at] = s.people.get(at, 0) + int(r["count"])
                    s.lower[at] = s.lower.get(at, 0)
                    s.upper[at] = s.upper.get(at, 0)
                    if r["direction"] != "estimate":  # a direct count is its own bound
                        s.lower[at] += int(r["count"])
                        s.upper[at] += int(r["count"])
        elif kind == "bound":
            for place in chosen:
                if any(c.node == r["node"] and c.sensor == r["sensor"] for c in place.counters):
                    bounds[(place.id, at)][r["direction"]] = (
                        bounds[(place.id, at)].get(r["direction"], 0) + int(r["count"]))
    for (pid, at), b in bounds.items():
        s = out[pid]
        s.lower[at] = s.lower.get(at, 0) + b.get("lower", 0)
        s.upper[at] = s.upper.get(at, 0) + b.get("upper", 0)
    return out


def latest_hour(storage: Any) -> int | None:
    return storage.extent()[1]


def local_dt(epoch: float, model: PlaceModel) -> datetime:
    return datetime.fromtimestamp(epoch, ZoneInfo(model.timezone))


def local_label(epoch: float, model: PlaceModel, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return local_dt(epoch, model).strftime(fmt)


def day_start(epoch: float, model: PlaceModel) -> int:
    d = local_dt(epoch, model)
    return int(d.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


def current_flows(storage: Any, model: PlaceModel, at: int | None = None
                  ) -> dict[str, int | None]:
    """People in the latest hour with data (or the hour starting `at`) per place."""
    hour = at if at is not None else latest_hour(storage)
    if hour is None:
        return {p: None for p in model.places}
    series = place_series(storage, model, "hour", hour, hour + HOUR)
    return {pid: s.people.get(hour) for pid, s in series.items()}


def busiest(series: dict[str, Series], model: PlaceModel, top: int = 10) -> dict[str, Any]:
    """Busiest places (total people) and busiest city-local hours of day."""
    totals = sorted(((sum(s.people.values()), pid) for pid, s in series.items()
                     if s.people), reverse=True)
    by_hour: dict[int, int] = defaultdict(int)
    for s in series.values():
        for at, n in s.people.items():
            by_hour[local_dt(at, model).hour] += n
    return {
        "places": [{"place": pid, "name": model.places[pid].name(), "people": n}
                   for n, pid in totals[:top]],
        "hours": [{"hour": f"{h:02d}:00", "people": n}
                  for h, n in sorted(by_hour.items(), key=lambda kv: -kv[1])[:top]],
        "by_hour_of_day": [{"hour": f"{h:02d}:00", "people": by_hour.get(h)} for h in range(24)],
    }


def steps_kpi(series: dict[str, Series], model: PlaceModel, days: float) -> dict[str, Any]:
    """Walking steps in the covered sections per day (the method is returned with it)."""
    rows = []
    total = 0.0
    for pid, s in series.items():
        place = model.places[pid]
        people = sum(s.people.values())
        steps = people * place.route_m / STEP_M
        total += steps
        rows.append({"place": pid, "people": people, "route_m": place.route_m,
                     "steps": round(steps)})
    per_day = total / days if days else 0.0
    return {
        "steps_per_day": round(per_day),
        "person_kpi_equivalents": round(per_day / KPI_STEPS_PER_PERSON, 1),
        "by_place": rows,
        "method": (f"steps = people counted at a place x the place's route length (route_m)"
                   f" / {STEP_M} m per step, summed over places, divided by the {days:g} days"
                   " covered. Assumes each counted passer walks that place's whole route once;"
                   " people counted at two places are counted twice. Equivalents: steps per"
                   f" day / {KPI_STEPS_PER_PERSON} (the plan's +1,500 steps per citizen)."),
    }


def mean_by(values: dict[int, int], keep: Any) -> float | None:
    chosen = [n for at, n in values.items() if keep(at)]
    return sum(chosen) / len(chosen) if chosen else None


def compare_weeks(storage: Any, model: PlaceModel, until: int, weeks: int = 4
                  ) -> dict[str, Any]:
    """The last seven complete city days before `until` against the mean week of the
    `weeks` before them (whole days only, so a partial day never reads as a drop)."""
    until = day_start(until, model)
    this_from = until - 7 * DAY
    base_from = this_from - weeks * 7 * DAY
    series = place_series(storage, model, "day", base_from, until)
    rows = []
    for pid, s in series.items():
        now = sum(n for at, n in s.people.items() if at >= this_from) if s.people else None
        base_days = [at for at in s.people if at < this_from]
        # A baseline only from a full set of weeks: fewer days would understate it.
        base = (sum(s.people[at] for at in base_days) / weeks
                if len(base_days) >= weeks * 7 else None)
        rows.append({"place": pid, "name": model.places[pid].name(), "this_week": now,
                     "baseline_week": None if base is None else round(base),
                     "change_pct": _pct(now, base)})
    return {"mode": "week", "this_from": this_from, "baseline_from": base_from, "rows": rows}


def compare_snow(storage: Any, model: PlaceModel, since: int, until: int) -> dict[str, Any]:
    """Mean people per day on snow days (fresh snow >= 1 cm) against dry days."""
    series = place_series(storage, model, "day", since, until)
    snowy = {d for d, cm in model.snow_cm.items() if cm >= 1}
    dry = {d for d, cm in model.snow_cm.items() if cm < 1}
    rows = []
    for pid, s in series.items():
        def on(days: set[str], s: Series = s) -> float | None:
            return mean_by(s.people, lambda at: local_label(at, model, "%Y-%m-%d") in days)
        snow, dry_mean = on(snowy), on(dry)
        rows.append({"place": pid, "name": model.places[pid].name(),
                     "snow_day_mean": _round(snow), "dry_day_mean": _round(dry_mean),
                     "change_pct": _pct(snow, dry_mean)})
    return {"mode": "snow", "snow_days": sorted(snowy), "dry_days": sorted(dry), "rows": rows}


def compare_event(storage: Any, model: PlaceModel, at: float, hours: int) -> dict[str, Any]:
    """People in the `hours` before against the `hours` after an instant, per place."""
    start = int(at) - int(at) % HOUR
    series = place_series(storage, model, "hour", start - hours * HOUR, start + hours * HOUR)
    rows = []
    for pid, s in series.items():
        before = [n for t, n in s.people.items() if t < start]
        after = [n for t, n in s.people.items() if t >= start]
        b = sum(before) if before else None
        a = sum(after) if after else None
        rows.append({"place": pid, "name": model.places[pid].name(), "before": b,
                     "after": a, "change_pct": _pct(a, b)})
    return {"mode": "event", "at": start, "hours": hours, "rows": rows}


def _pct(new: float | None, base: float | None) -> float | None:
    if new is None or not base:
        return None
    return round(100 * (new - base) / base, 1)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def hours_between(since: int, until: int) -> list[int]:
    return list(range(since - since % HOUR, until, HOUR))


def days_between(since: int, until: int, model: PlaceModel) -> list[int]:
    out, d = [], local_dt(day_start(since, model), model)
    while d.timestamp() < until:
        out.append(int(d.timestamp()))
        d = (d + timedelta(days=1, hours=2)).replace(hour=0)
    return out
