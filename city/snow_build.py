"""One snow plan from the collector database, the place model, the roads and the weather."""

from typing import Any

from city.figures import place_totals
from city.roads import RoadNetwork
from city.snow_depth import Weather, segment_snow
from city.snow_flow import DEFAULT_LENGTH_M, PlaceCount, spread_flows
from city.snow_plan import WHY_PYTHON, PlanConfig, assign_crews, not_in_shift, score_segments
from city.snow_store import clearings, gauges
from walkway.places import PlaceModel

COUNT_WINDOW_S = 86400  # walkers: mean people per hour over the day before the plan time


def place_counts(storage: Any, model: PlaceModel, plan_at: float,
                 window_s: float = COUNT_WINDOW_S) -> list[PlaceCount]:
    """Mean people per hour per place over the `window_s` (a day) before `plan_at`; a place
    without any count in that window is left out (not a sensor for this plan), never zero."""
    totals, _ = place_totals(storage, model, plan_at - window_s, plan_at)
    return [PlaceCount(pid, model.places[pid].lon, model.places[pid].lat,
                       n * 3600 / window_s)
            for pid, n in sorted(totals.items()) if pid in model.places]


def build_plan(storage: Any, model: PlaceModel, net: RoadNetwork, weather: Weather,
               cfg: PlanConfig, crews: int, plan_at: float,
               length_m: float = DEFAULT_LENGTH_M,
               count_window_s: float = COUNT_WINDOW_S) -> dict[str, Any]:
    counts = place_counts(storage, model, plan_at, count_window_s)
    flows, ignored = spread_flows(net, counts, length_m)
    snow = segment_snow(net, weather, plan_at, gauges(storage, model), clearings(storage))
    rows = score_segments(net, flows, snow, cfg)
    routes = assign_crews(net, rows, crews, cfg)
    return {
        "plan_at": plan_at, "roads": net.source, "weather": weather.source,
        "segments_total": len(rows), "planned": sum(r["planned"] for r in rows),
        "not_in_shift": not_in_shift(rows),
        "width_fallback_segments": net.fallback_count,
        "walkers_unknown_segments": sum(not r["walkers_known"] for r in rows),
        "places_used": [p.id for p in counts if p.id not in ignored],
        "walkers_per_hour_at_places": {p.id: round(p.people_per_hour, 1) for p in counts},
        "count_window_s": count_window_s,
        "places_ignored_off_network": ignored,
        "decay_length_m": length_m, "weights": cfg.weights(), "min_snow_cm": cfg.min_snow_cm,
        "routing": WHY_PYTHON, "crews": routes, "segments": rows,
    }


def plan_table(plan: dict[str, Any], top: int = 25) -> str:
    """The plan as text: a header, the crews, and the top segments."""
    lines = [f"snow plan: {plan['planned']} of {plan['segments_total']} segments need"
             f" clearing (>= {plan['min_snow_cm']:g} cm); {plan['not_in_shift']} not reached"
             " in this shift",
             f"widths: {plan['width_fallback_segments']} segments use the fallback width for"
             " their road class (no width in the data)",
             f"walkers: from places {', '.join(plan['places_used']) or 'none'};"
             f" {plan['walkers_unknown_segments']} segments beyond every sensor (unknown)"]
    for c in plan["crews"]:
        lines.append(f"crew {c['crew']} from {c['depot']}: {c['segments']} segments,"
                     f" {c['cleared_m']:.0f} m, {c['minutes']:.0f} min")
    lines.append(f"{'order':>5} {'crew':>4} {'score':>6} {'walkers/h (range)':>20}"
                 f" {'snow cm':>7} {'width m':>12}  segment")
    planned = sorted((r for r in plan["segments"] if r.get("order")), key=lambda r: r["order"])
    for r in planned[:top]:
        walk = "unknown" if r["walkers_per_hour"] is None else \
            f"{r['walkers_per_hour']:.0f} ({r['walkers_low']:.0f}-{r['walkers_high']:.0f})"
        width = f"{r['width_m']:.1f}{'*' if r['width_fallback'] else ''}"
        lines.append(f"{r['order']:>5} {r['crew']:>4} {r['score']:>6.1f} {walk:>20}"
                     f" {r['snow_cm']:>7.1f} {width:>12}  {r['name'] or r['highway']}"
                     f" {r['segment']}{' [' + r['designated'] + ']' if r['designated'] else ''}")
    lines.append("* fallback width for the road class")
    return "\n".join(lines) + "\n"
