"""Commands: `walkway city snow-plan` and `walkway city snow-cleared` (docs/city-snow.md)."""

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from city.snow_flow import DEFAULT_LENGTH_M
from walkway.errors import UsageError

DEFAULT_PAGE_CREWS = 2


def _plan_at(text: str | None) -> float:
    if not text:
        return time.time()
    from walkway.timeutil import parse_iso

    try:
        return parse_iso(text)
    except ValueError as exc:
        raise UsageError(f"--at: expected an ISO 8601 time with its offset, got {text!r}") from exc


def _snow_plan(args: argparse.Namespace) -> int:
    from city.roads import load_roads
    from city.snow_build import build_plan, plan_table
    from city.snow_depth import load_weather
    from city.snow_plan import load_plan_config, plan_geojson
    from cloud_bridge.cli import stdout_closed_quietly
    from cloud_bridge.collector_store import open_storage
    from walkway.places import auto_places, load_places

    if args.crews < 1:
        raise UsageError(f"--crews: expected 1 or more, got {args.crews}")
    if args.decay_m <= 0:
        raise UsageError(f"--decay-m: expected metres above 0, got {args.decay_m:g}")
    net = load_roads(args.roads, args.way_tags)
    weather = load_weather(args.weather)
    cfg = load_plan_config(args.config)
    storage = open_storage(args.db, must_exist=True)
    try:
        model = load_places(args.places) if args.places else auto_places(storage)
        plan = build_plan(storage, model, net, weather, cfg, args.crews,
                          _plan_at(args.at), args.decay_m)
    finally:
        storage.close()
    if args.svg:
        from city.snow_svg import plan_svg

        try:
            args.svg.write_text(plan_svg(net, plan), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--svg: cannot write {args.svg}: {exc.strerror}") from exc
    with stdout_closed_quietly():
        if args.json or args.geojson:
            json.dump(plan_geojson(net, plan) if args.geojson else plan, sys.stdout,
                      ensure_ascii=False)
            sys.stdout.write("\n")
        else:
            sys.stdout.write(plan_table(plan, args.top))
        sys.stdout.flush()
    return 0


def _snow_cleared(args: argparse.Namespace) -> int:
    from city.roads import load_roads
    from city.snow_store import mark_cleared
    from cloud_bridge.collector_store import open_storage

    if args.roads:
        known = load_roads(args.roads).segments
        unknown = [s for s in args.segments if s not in known]
        if unknown:
            raise UsageError(f"{args.roads}: no segment {', '.join(unknown)}")
    at = _plan_at(args.at)
    storage = open_storage(args.db, must_exist=True)
    try:
        for seg in args.segments:
            mark_cleared(storage, seg, at, args.crew)
    finally:
        storage.close()
    print(f"{len(args.segments)} segment(s) cleared by {args.crew} at {at:.0f}")
    return 0


def register_snow(sub: argparse._SubParsersAction,
                  common: Callable[[argparse.ArgumentParser], None]) -> None:
    serve = sub.choices["serve"]
    serve.add_argument("--snow-roads", type=Path, help="road network for the snow page")
    serve.add_argument("--snow-weather", type=Path, help="ward stations' snow CSV (snow page)")
    serve.add_argument("--snow-config", type=Path, help="[snow] TOML for the snow page")
    serve.add_argument("--snow-way-tags", type=Path, help="OSM tags CSV for the snow page")
    serve.add_argument("--snow-crews", type=int, default=DEFAULT_PAGE_CREWS,
                       help=f"crews on the snow page (default {DEFAULT_PAGE_CREWS})")
    serve.add_argument("--checkin-keys", type=Path,
                       help="directory of NODE.pub.pem keys of signs offering check-ins"
                            " (and signs.toml: where each sign stands, for route points)")

    plan = sub.add_parser("snow-plan", help="snow-clearing priority and a route per crew")
    common(plan)
    plan.add_argument("--roads", type=Path, required=True,
                      help="road network: GeoJSON LineStrings or OSM XML (.osm)")
    plan.add_argument("--way-tags", type=Path,
                      help="CSV of OSM tags per way (way_id, tags_json) to join on way_id")
    plan.add_argument("--weather", type=Path, required=True,
                      help="ward stations' daily snow CSV (date, station, kind, value_cm)")
    plan.add_argument("--config", type=Path, help="TOML with a [snow] table: weights, depots,"
                      " designated routes (default weights without it)")
    plan.add_argument("--crews", type=int, required=True, help="number of crews")
    plan.add_argument("--at", help="plan time, ISO 8601 with offset (default: now)")
    plan.add_argument("--decay-m", type=float, default=DEFAULT_LENGTH_M,
                      help="length scale of the walkers' decay along the network"
                           f" (default {DEFAULT_LENGTH_M:g} m)")
    plan.add_argument("--top", type=int, default=25, help="rows in the text table")
    plan.add_argument("--svg", type=Path, help="also write the plan's map to this SVG file")
    out = plan.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="the whole plan as JSON")
    out.add_argument("--geojson", action="store_true", help="segments with their plan, GeoJSON")
    plan.set_defaults(handler=_snow_plan)

    cleared = sub.add_parser("snow-cleared", help="mark road segments cleared by a crew")
    cleared.add_argument("--db", required=True, help="collector database (SQLite or URL)")
    cleared.add_argument("segments", nargs="+", help="segment ids from the plan")
    cleared.add_argument("--crew", required=True, help="crew name or number")
    cleared.add_argument("--at", help="clearing time, ISO 8601 with offset (default: now)")
    cleared.add_argument("--roads", type=Path, help="check the ids against this network")
    cleared.set_defaults(handler=_snow_cleared)
