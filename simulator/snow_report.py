"""The city's snow plan at the end of a run (scenario `[snow_plan]`, docs/simulator.md).

Made by the city's own code (city/snow_build.py) from what the run delivered: the walkers
from the places' counts in OUT/cloud.db (the collector's database, filled by edge -> bridge
-> MQTT -> collector), the snow from the nodes' gauge readings there, else the ward station.
The count window is the run itself (a run has no day of history before it): walkers per hour
= the run's count per place / the run's length. With `previous_round`, every segment is first
marked cleared at that time, as the crews would have recorded it (`walkway city
snow-cleared`). Writes OUT/snow-plan.json (the whole plan),
OUT/snow-plan.svg (the city app's map), OUT/plots/snow-plan.png and OUT/snow-plan.md (the
tables docs/city-snow.md shows).
"""

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def make_snow_plan(runner: Any) -> dict[str, Any]:
    from city.roads import load_roads
    from city.snow_build import build_plan
    from city.snow_depth import load_weather
    from city.snow_plan import load_plan_config
    from city.snow_svg import plan_svg
    from cloud_bridge.collector_store import open_storage
    from simulator.plots import snow_plan_png
    from walkway.places import load_places

    sc, out = runner.scenario, runner.out
    spec = sc.snow_plan
    net = load_roads(spec.roads, spec.way_tags)
    weather = load_weather(spec.weather)
    cfg = load_plan_config(spec.config)
    model = load_places(out / "places.toml")
    storage = open_storage(str(out / "cloud.db"), must_exist=True)
    try:
        if spec.previous_round is not None:  # the crews' record of the last round
            from city.snow_store import mark_cleared

            for seg in sorted(net.segments):
                mark_cleared(storage, seg, spec.previous_round, "previous round")
        plan = build_plan(storage, model, net, weather, cfg, spec.crews, sc.end,
                          count_window_s=sc.end - sc.start)
    finally:
        storage.close()
    (out / "snow-plan.json").write_text(json.dumps(plan, ensure_ascii=False), "utf-8")
    (out / "snow-plan.svg").write_text(plan_svg(net, plan), "utf-8")
    (out / "plots").mkdir(exist_ok=True)
    title = f"Snow plan from the run: {sc.title.split(':')[0]}, {_local(sc.end, sc.timezone)}"
    snow_plan_png(net, plan, out / "plots" / "snow-plan.png", title)
    summary = summarise(plan, spec.jobs_per_crew, spec.previous_round)
    (out / "snow-plan.md").write_text(plan_markdown(summary, plan, sc.timezone), "utf-8")
    return summary


def _local(t: float, zone: str) -> str:
    return datetime.fromtimestamp(t, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _job(r: dict[str, Any]) -> dict[str, Any]:
    return {"order": r["order"], "crew": r["crew"], "segment": r["segment"],
            "road": r["name"] or r["highway"], "score": r["score"],
            "walkers_per_hour": r["walkers_per_hour"], "walkers_low": r["walkers_low"],
            "walkers_high": r["walkers_high"], "snow_cm": r["snow_cm"],
            "snow_source": r["snow_source"], "width_m": r["width_m"],
            "width_fallback": r["width_fallback"], "designated": r["designated"]}


def summarise(plan: dict[str, Any], jobs_per_crew: int, previous_round: float | None = None
              ) -> dict[str, Any]:
    rows = {r["segment"]: r for r in plan["segments"]}
    sources: dict[str, int] = {}
    for r in plan["segments"]:
        kind = r["snow_source"]
        sources[kind] = sources.get(kind, 0) + 1
    unknown = sorted(r["segment"] for r in plan["segments"] if not r["walkers_known"])
    return {
        "plan_at": plan["plan_at"], "previous_round": previous_round,
        "segments_total": plan["segments_total"],
        "planned": plan["planned"], "not_in_shift": plan["not_in_shift"],
        "width_fallback_segments": plan["width_fallback_segments"],
        "width_note": f"{plan['width_fallback_segments']} of {plan['segments_total']} segments"
                      " use the fallback width for their road class (no width in the data)",
        "walkers_unknown_segments": len(unknown), "walkers_unknown_ids": unknown,
        "walkers_per_hour_at_places": plan["walkers_per_hour_at_places"],
        "count_window_s": plan["count_window_s"], "snow_sources": dict(sorted(sources.items())),
        "crews": [{"crew": c["crew"], "depot": c["depot"], "segments": c["segments"],
                   "cleared_m": round(c["cleared_m"]), "minutes": round(c["minutes"]),
                   "first_jobs": [_job(rows[j["segment"]]) for j in c["route"][:jobs_per_crew]]}
                  for c in plan["crews"]],
        "files": ["snow-plan.json", "snow-plan.svg", "plots/snow-plan.png", "snow-plan.md"],
    }


def _walkers(j: dict[str, Any]) -> str:
    if j["walkers_per_hour"] is None:
        return "unknown"
    return f"{j['walkers_per_hour']:.0f} ({j['walkers_low']:.0f}-{j['walkers_high']:.0f})"


def job_rows(jobs: list[dict[str, Any]]) -> list[str]:
    lines = ["| order | crew | score | walkers/h (range) | snow cm (source) | width m | road |"
             " segment | designated |", "|---|---|---|---|---|---|---|---|---|"]
    for j in jobs:
        lines.append(f"| {j['order']} | {j['crew']} | {j['score']:.1f} | {_walkers(j)} |"
                     f" {j['snow_cm']:.1f} ({j['snow_source']}) | {j['width_m']:.1f}"
                     f"{'*' if j['width_fallback'] else ''} | {j['road']} | `{j['segment']}` |"
                     f" {j['designated'] or ''} |")
    return lines


def plan_markdown(summary: dict[str, Any], plan: dict[str, Any], zone: str) -> str:
    s = summary
    since = (f" (every segment cleared in the previous round, {_local(s['previous_round'], zone)})"
             if s.get("previous_round") else "")
    lines = [f"Plan at {_local(s['plan_at'], zone)}{since}: {s['planned']} of"
             f" {s['segments_total']}"
             f" segments need clearing, {s['not_in_shift']} not reached in the shift;"
             f" {s['width_note']}; walkers unknown on {s['walkers_unknown_segments']} segments"
             " (no counted place reaches them; planned as a middling street).",
             "", "Walkers per hour at the counted places (the run's counts / its length): "
             + ", ".join(f"{k} {v:g}" for k, v in s["walkers_per_hour_at_places"].items())
             + ". Snow sources: "
             + ", ".join(f"{k} {v}" for k, v in s["snow_sources"].items()) + " segments.", ""]
    for c in s["crews"]:
        lines.append(f"- crew {c['crew']} from {c['depot']}: {c['segments']} segments,"
                     f" {c['cleared_m']} m, {c['minutes']} min")
    lines += ["", "First jobs per crew (`*`: fallback width):", ""]
    lines += job_rows([j for c in s["crews"] for j in c["first_jobs"]])
    top = sorted((r for r in plan["segments"] if r.get("order")), key=lambda r: r["order"])[:20]
    lines += ["", "The first 20 jobs in order:", ""] + job_rows([_job(r) for r in top])
    return "\n".join(lines) + "\n"
