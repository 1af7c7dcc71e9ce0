"""The snow page (map coloured by priority, per-crew routes, the list; printable) and its API.

`walkway city serve --snow-roads FILE --snow-weather FILE [--snow-config FILE]` turns it on
(`configure_snow`); without them the page says how. The plan is built per request from the
collector database, so a clearing marked through POST /api/snow/cleared shows at once.
"""

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from city.html import esc, page, table
from city.web import App, HttpError, Request, Response, json_response

PRINT_CSS = ("<style>@media print{header,form,.noprint{display:none}"
             " svg{max-width:100%;height:auto} table{font-size:10px}}</style>")
CREWS_MAX = 50


@dataclass(frozen=True)
class SnowSettings:
    roads: Path
    weather: Path
    config: Path | None
    way_tags: Path | None
    crews: int


def configure_snow(app: App, args: argparse.Namespace) -> None:
    """From `serve`'s --snow-* options; the files are read now so a bad one stops the start."""
    from city.roads import load_roads
    from city.snow_depth import load_weather
    from city.snow_plan import load_plan_config

    if not getattr(args, "snow_roads", None):
        return
    settings = SnowSettings(args.snow_roads, args.snow_weather, args.snow_config,
                            args.snow_way_tags, args.snow_crews)
    if settings.weather is None:
        from walkway.errors import UsageError

        raise UsageError("--snow-weather: required with --snow-roads")
    app.snow = (settings, load_roads(settings.roads, settings.way_tags),
                load_weather(settings.weather), load_plan_config(settings.config))


def _plan(request: Request) -> tuple:
    from city.snow_build import build_plan
    from walkway.timeutil import parse_iso

    snow = getattr(request.app, "snow", None)
    if snow is None:
        raise HttpError(404, "the snow plan is not set up: start `walkway city serve` with"
                        " --snow-roads FILE --snow-weather FILE")
    settings, net, weather, cfg = snow
    try:
        crews = int(request.arg("crews", str(settings.crews)))
    except ValueError:
        raise HttpError(400, "crews: expected a whole number") from None
    if not 1 <= crews <= CREWS_MAX:
        raise HttpError(400, f"crews: expected 1 to {CREWS_MAX}, got {crews}")
    at_text = request.arg("at")
    try:
        at = parse_iso(at_text) if at_text else time.time()
    except ValueError:
        raise HttpError(400, f"at: expected an ISO 8601 time with its offset, got {at_text!r}"
                        ) from None
    from walkway.errors import ConfigError

    try:
        plan = build_plan(request.app.storage, request.app.model, net, weather, cfg, crews, at)
    except ConfigError as exc:
        raise HttpError(400, str(exc)) from None
    return plan, net


def snow_page(request: Request) -> Response:
    from city.snow_svg import plan_svg

    plan, net = _plan(request)
    at = request.arg("at")
    form = (f"<form class=noprint method=get action='/snow'><label>Crews <input name=crews"
            f" id=snow-crews value='{len(plan['crews'])}' size=3></label> <label>Plan time"
            f" <input name=at value='{esc(at)}' placeholder='now'></label>"
            " <button>Plan</button> <a href='/api/snow/plan.geojson'>GeoJSON</a></form>")
    intro = (f"<p id=snow-summary>{plan['planned']} of {plan['segments_total']} segments need"
             f" clearing (at least {plan['min_snow_cm']:g} cm since their last clearing);"
             f" {plan['not_in_shift']} not reached in this shift. Widths:"
             f" {plan['width_fallback_segments']} segments use the fallback width of their"
             f" road class (no width in the data). Walkers: estimated from"
             f" {len(plan['places_used'])} counted places;"
             f" {plan['walkers_unknown_segments']} segments are beyond every sensor (unknown,"
             " planned as a middling street).</p>")
    crews = []
    for c in plan["crews"]:
        jobs = [(j["order"], j["start_min"], net.segments[j["segment"]].name or
                 net.segments[j["segment"]].highway, j["segment"]) for j in c["route"][:30]]
        crews.append(f"<h2>Crew {c['crew']} from {esc(c['depot'])}: {c['segments']} segments,"
                     f" {c['cleared_m']:.0f} m, {c['minutes']:.0f} min</h2>"
                     + table(["order", "start (min)", "road", "segment"], jobs,
                             f"snow-crew-{c['crew']}"))
    top = sorted((r for r in plan["segments"] if r["planned"]),
                 key=lambda r: (-r["score"], r["segment"]))[:40]
    rows = [(r["score"], r["name"] or r["highway"], r.get("crew"), r.get("order"),
             "unknown" if r["walkers_per_hour"] is None else
             f"{r['walkers_per_hour']:.0f} ({r['walkers_low']:.0f}-{r['walkers_high']:.0f})",
             r["snow_cm"], r["snow_source"],
             f"{r['width_m']:.1f} ({r['width_source']})", r["designated"]) for r in top]
    body = (PRINT_CSS + form + intro + plan_svg(net, plan) + "".join(crews)
            + "<h2>Highest priority</h2>"
            + table(["score", "road", "crew", "order", "walkers/h (range)", "snow cm",
                     "snow from", "width m (source)", "designated"], rows, "snow-table"))
    return Response(page(request, "Snow clearing plan", body))


def cleared(request: Request) -> Response:
    from city.snow_store import mark_cleared
    from walkway.timeutil import parse_iso

    snow = getattr(request.app, "snow", None)
    segment, crew = request.form.get("segment", ""), request.form.get("crew", "")
    if snow is None:
        raise HttpError(404, "the snow plan is not set up")
    if segment not in snow[1].segments:
        raise HttpError(400, f"segment: expected a segment id of {snow[0].roads},"
                        f" got {segment!r}")
    if not crew:
        raise HttpError(400, "crew: expected the crew's name or number")
    try:
        at = parse_iso(request.form["at"]) if request.form.get("at") else time.time()
    except ValueError:
        raise HttpError(400, "at: expected an ISO 8601 time with its offset") from None
    mark_cleared(request.app.storage, segment, at, crew)
    return json_response({"segment": segment, "crew": crew, "at": at})


def register(app: App) -> None:
    from city.snow_plan import plan_geojson

    app.route("GET", "/snow", snow_page)
    app.route("GET", "/api/snow/plan", lambda r: json_response(_plan(r)[0]))
    app.route("GET", "/api/snow/plan.geojson",
              lambda r: json_response(plan_geojson(*reversed(_plan(r)))))
    app.route("POST", "/api/snow/cleared", cleared, role="operator")
    app.nav("/snow", "Snow")
