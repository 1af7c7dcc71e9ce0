"""People per place from the collector's rollups: what every page and API answer is built on.

A place's people figure for an hour is the sum of its counters' "people" series
(walkway.places.figure_of); BLE's lower/upper bounds are summed apart as `lower`/`upper` (only
BLE counters have them: for other counters both bounds equal the count). An hour with no
bin at all is missing (None), never zero: no data must never read as a quiet hour.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from walkway.places import Place, PlaceModel

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
    out = {p.id: Series({}, {}, {}) for p in chosen}
    rows = storage.rollup_rows(period, since, until, _filter(chosen, model))
    for site, node, sensor, direction, at, count in rows:
        kind, ids = model.role_of(site, node, sensor, direction)
        at, count = int(at), int(count)
        for pid in ids:
            s = out.get(pid)
            if s is None:
                continue
            if kind == "people":
                s.people[at] = s.people.get(at, 0) + count
                # A direct count is its own bound; BLE's estimate gets its bounds below.
                own = 0 if direction == "estimate" else count
                s.lower[at] = s.lower.get(at, 0) + own
                s.upper[at] = s.upper.get(at, 0) + own
            elif kind == "bound":
                side = s.lower if direction == "lower" else s.upper
                side[at] = side.get(at, 0) + count
    for s in out.values():  # a bound without a people figure for its hour is not shown
        for side in (s.lower, s.upper):
            for at in [a for a in side if a not in s.people]:
                del side[at]
    return out


def place_totals(storage: Any, model: PlaceModel, since: float, until: float
                 ) -> tuple[dict[str, int], dict[int, int]]:
    """People per place over [since, until), and per local hour of day over all places,
    summed in the database (the city's UTC offset at `until`: Asia/Tokyo has no DST)."""
    offset = int(local_dt(until, model).utcoffset().total_seconds())
    totals: dict[str, int] = {}
    by_hour: dict[int, int] = defaultdict(int)
    for site, node, sensor, direction, hod, n in storage.rollup_totals(since, until, offset):
        kind, ids = model.role_of(site, node, sensor, direction)
        if kind != "people":
            continue
        for pid in ids:
            totals[pid] = totals.get(pid, 0) + int(n)
            by_hour[int(hod)] += int(n)
    return totals, by_hour


def _filter(places: list[Place], model: PlaceModel) -> list[tuple[str, str, str]] | None:
    """A SQL filter for a few places; for many, every row is read and mapped instead."""
    if len(places) > 20 or len(places) == len(model.places):
        return None
    return sorted({(p.site, c.node, c.sensor) for p in places for c in p.counters})


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


def busiest(totals: dict[str, int], by_hour: dict[int, int], model: PlaceModel,
            top: int = 10) -> dict[str, Any]:
    """Busiest places (total people) and busiest city-local hours of day."""
    ranked = sorted(((n, pid) for pid, n in totals.items()), reverse=True)
    return {
        "places": [{"place": pid, "name": model.places[pid].name(), "people": n}
                   for n, pid in ranked[:top]],
        "hours": [{"hour": f"{h:02d}:00", "people": n}
                  for h, n in sorted(by_hour.items(), key=lambda kv: -kv[1])[:top]],
        "by_hour_of_day": [{"hour": f"{h:02d}:00", "people": by_hour.get(h)} for h in range(24)],
    }


def steps_kpi(totals: dict[str, int], model: PlaceModel, days: float) -> dict[str, Any]:
    """Walking steps in the covered sections per day (the method is returned with it)."""
    rows = []
    total = 0.0
    for pid, place in model.places.items():
        people = totals.get(pid)
        steps = (people or 0) * place.route_m / STEP_M
        total += steps
        rows.append({"place": pid, "people": people, "route_m": place.route_m,
                     "steps": None if people is None else round(steps)})
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
    """Mean people per day on snow days (fresh snow >= 1 cm) against dry days; whole city
    days only (a day still being counted would read as a quiet one)."""
    until = day_start(until, model)
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
    """People in the `hours` before against the `hours` after an instant (from the start of
    its hour), per place; and the same hours after it on the same weekday of the four weeks
    before ("usual"), since the daily shape alone moves before/after figures."""
    start = int(at) - int(at) % HOUR
    series = place_series(storage, model, "hour", start - hours * HOUR, start + hours * HOUR)
    usual: dict[str, list[int]] = defaultdict(list)
    for week in range(1, 5):
        back = start - week * 7 * DAY
        for pid, s in place_series(storage, model, "hour", back, back + hours * HOUR).items():
            if len(s.people) == hours:  # only complete windows
                usual[pid].append(sum(s.people.values()))
    rows = []
    for pid, s in series.items():
        before = [n for t, n in s.people.items() if t < start]
        after = [n for t, n in s.people.items() if t >= start]
        b = sum(before) if len(before) == hours else None  # incomplete windows: no figure
        a = sum(after) if len(after) == hours else None
        u = round(sum(usual[pid]) / len(usual[pid])) if usual.get(pid) else None
        rows.append({"place": pid, "name": model.places[pid].name(), "before": b,
                     "after": a, "change_pct": _pct(a, b), "usual_after": u,
                     "vs_usual_pct": _pct(a, u)})
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
