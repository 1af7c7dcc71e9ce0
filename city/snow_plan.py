"""Clearing priority per segment and a clearing order for N crews (docs/city-snow.md).

Priority, 0-100, for a segment with at least `min_snow_cm` of snow since its last clearing
(below that it is not in the plan, score 0):

    score = 100 * (w_walkers*W + w_snow*S + w_narrow*N + w_route*R) / (sum of the weights)
    W = walkers / (walkers + walkers_half)        people per hour, saturating; unknown: W_UNKNOWN
    S = min(snow_cm / snow_full_cm, 1)
    N = clamp((wide_m - width_m) / (wide_m - narrow_m), 0, 1)   narrower: less room to walk
    R = 1 on a designated route (near a designated point, or a designated road name), else 0

Unknown walkers (no counted place reaches the segment) count as W_UNKNOWN = 0.5, a middling
street: no data never pushes a street to the end of the plan as if it were empty.

Crews: each starts at a depot (the graph node nearest it; crews share depots round-robin).
The crew that is free earliest (ties: lowest number) takes the planned segment with the best
score / (1 + travel_m / travel_scale_m), ties by segment id, travels there on the shortest
path, clears it and ends at its far end (an extract clipped at its edge falls apart into
pieces that connect outside it: between pieces, travel is DETOUR x the straight line); a crew
stops when the next job would end after its
shift. All of it is deterministic: the same inputs give the same plan.

Why plain Python (heapq Dijkstra), not pgRouting: the network is a ward's streets (hundreds to
a few thousand segments), a search takes milliseconds, the greedy assignment needs one search
per job with its state in Python anyway, and the plan must run the same on the SQLite laptop
store as on PostgreSQL without an extension to install.
"""

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from city.roads import RoadNetwork, haversine_m
from city.snow_depth import SegmentSnow
from city.snow_flow import SegmentFlow, distances
from walkway.config_table import ConfigTable
from walkway.errors import ConfigError

W_UNKNOWN = 0.5
SEARCH_M = 1500.0  # first search radius for a crew's next job
DETOUR = 1.4  # straight line to network distance, between unconnected parts of an extract
WHY_PYTHON = ("plain Python Dijkstra: a few hundred segments take milliseconds, and the plan"
              " runs the same on SQLite and PostgreSQL without the pgRouting extension")


@dataclass(frozen=True)
class Designated:
    name: str
    lat: float | None = None
    lon: float | None = None
    radius_m: float = 150.0
    road: str = ""  # a road name (OSM name=) that is a designated route along its length


@dataclass
class PlanConfig:
    w_walkers: float = 0.4
    w_snow: float = 0.3
    w_narrow: float = 0.1
    w_route: float = 0.2
    walkers_half: float = 50.0
    snow_full_cm: float = 30.0
    min_snow_cm: float = 5.0
    wide_m: float = 12.0
    narrow_m: float = 4.0
    clear_kmh: float = 4.0
    travel_kmh: float = 15.0
    shift_h: float = 8.0
    travel_scale_m: float = 2000.0
    depots: list[tuple[str, float, float]] = field(default_factory=list)  # (name, lat, lon)
    designated: list[Designated] = field(default_factory=list)

    def weights(self) -> dict[str, float]:
        return {"walkers": self.w_walkers, "snow": self.w_snow, "narrow": self.w_narrow,
                "route": self.w_route}


NUMBERS = ("w_walkers", "w_snow", "w_narrow", "w_route", "walkers_half", "snow_full_cm",
           "min_snow_cm", "wide_m", "narrow_m", "clear_kmh", "travel_kmh", "shift_h",
           "travel_scale_m")


def load_plan_config(path: Path | None) -> PlanConfig:
    """A TOML file with a [snow] table (docs/city-snow.md lists every key); None: defaults."""
    cfg = PlanConfig()
    if path is None:
        return cfg
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read snow config: {exc.strerror}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc
    problems: list[str] = []
    root = ConfigTable(Path(path), "", data, problems)
    snow = root.table("snow")
    for name in NUMBERS:
        value = snow.number(name, getattr(cfg, name), min=0)
        setattr(cfg, name, float(value if value is not None else getattr(cfg, name)))
    for t in snow.tables("depots"):
        cfg.depots.append((t.text("name"), t.number("lat", min=-90, max=90),
                           t.number("lon", min=-180, max=180)))
        t.finish()
    for t in snow.tables("designated"):
        cfg.designated.append(Designated(
            t.text("name"), t.number("lat", None, min=-90, max=90),
            t.number("lon", None, min=-180, max=180), t.number("radius_m", 150.0, min=0),
            t.text("road", "")))
        t.finish()
    snow.finish()
    root.finish()
    if sum(cfg.weights().values()) <= 0:
        problems.append(f"{path}: snow: expected at least one weight above 0")
    if cfg.wide_m <= cfg.narrow_m:
        problems.append(f"{path}: snow.wide_m: expected more than narrow_m ({cfg.narrow_m})")
    if problems:
        raise ConfigError(problems)
    return cfg


def designated_of(net: RoadNetwork, cfg: PlanConfig, seg_id: str) -> str:
    seg = net.segments[seg_id]
    lon, lat = seg.midpoint
    for d in cfg.designated:
        if d.road and d.road == seg.name:
            return d.name
        if d.lat is not None and d.lon is not None and \
                haversine_m(lon, lat, d.lon, d.lat) <= d.radius_m:
            return d.name
    return ""


def score_segments(net: RoadNetwork, flows: dict[str, SegmentFlow],
                   snow: dict[str, SegmentSnow], cfg: PlanConfig) -> list[dict[str, Any]]:
    """One row per segment, highest score first (ties by segment id)."""
    total_w = sum(cfg.weights().values())
    rows = []
    for seg_id, seg in net.segments.items():
        f, s = flows[seg_id], snow[seg_id]
        walkers = W_UNKNOWN if f.estimate is None else f.estimate / (f.estimate + cfg.walkers_half)
        snow_term = min(s.snow_cm / cfg.snow_full_cm, 1.0) if cfg.snow_full_cm else 1.0
        narrow = min(max((cfg.wide_m - seg.width_m) / (cfg.wide_m - cfg.narrow_m), 0.0), 1.0)
        route = designated_of(net, cfg, seg_id)
        planned = s.snow_cm >= cfg.min_snow_cm
        raw = (cfg.w_walkers * walkers + cfg.w_snow * snow_term + cfg.w_narrow * narrow
               + cfg.w_route * (1.0 if route else 0.0))
        rows.append({
            "segment": seg_id, "name": seg.name, "highway": seg.highway,
            "length_m": round(seg.length_m, 1), "width_m": round(seg.width_m, 2),
            "width_source": seg.width_source, "width_fallback": seg.width_is_fallback,
            "walkers_per_hour": _r(f.estimate), "walkers_low": _r(f.low),
            "walkers_high": _r(f.high), "sensor_m": _r(f.sensor_m, 0),
            "confidence": round(f.confidence, 3), "walkers_known": f.estimate is not None,
            "snow_cm": round(s.snow_cm, 1), "snow_source": s.source,
            "cleared_at": s.cleared_at, "designated": route, "planned": planned,
            "score": round(100 * raw / total_w, 2) if planned else 0.0,
        })
    rows.sort(key=lambda r: (-r["score"], r["segment"]))
    return rows


def _r(x: float | None, digits: int = 1) -> float | None:
    return None if x is None else round(x, digits)


def assign_crews(net: RoadNetwork, rows: list[dict[str, Any]], crews: int, cfg: PlanConfig
                 ) -> list[dict[str, Any]]:
    """Routes per crew (see the module doc); sets `crew` and `order` on the rows it plans."""
    if crews < 1:
        raise ConfigError(["--crews: expected 1 or more"])
    depots = cfg.depots or [("centre (default: no depots configured)", *_centre(net))]
    by_id = {r["segment"]: r for r in rows}
    todo = {r["segment"] for r in rows if r["planned"]}
    state = []
    for i in range(crews):
        name, lat, lon = depots[i % len(depots)]
        node, _ = net.nearest_node(lon, lat)
        state.append({"crew": i + 1, "depot": name, "node": node, "minutes": 0.0,
                      "route": [], "done": False})
    shift = cfg.shift_h * 60
    order = 0
    parts = components(net)
    while todo:
        free = [c for c in state if not c["done"]]
        if not free:
            break
        crew = min(free, key=lambda c: (c["minutes"], c["crew"]))
        best = _best_job(net, crew["node"], todo, by_id, cfg, parts)
        if best is None:
            break
        seg_id, travel, near = best
        seg = net.segments[seg_id]
        start = crew["minutes"] + travel / 1000 / cfg.travel_kmh * 60
        end = start + seg.length_m / 1000 / cfg.clear_kmh * 60
        if end > shift:
            crew["done"] = True
            continue
        order += 1
        todo.discard(seg_id)
        crew["minutes"], crew["node"] = end, seg.b if near == seg.a else seg.a
        crew["route"].append({"order": order, "segment": seg_id, "travel_m": round(travel, 1),
                              "start_min": round(start, 1), "end_min": round(end, 1)})
        by_id[seg_id].update(crew=crew["crew"], order=order, start_min=round(start, 1))
    return [{"crew": c["crew"], "depot": c["depot"], "minutes": round(c["minutes"], 1),
             "segments": len(c["route"]),
             "cleared_m": round(sum(net.segments[j["segment"]].length_m for j in c["route"]), 1),
             "route": c["route"]} for c in state]


def components(net: RoadNetwork) -> dict[str, int]:
    """node -> number of the connected piece of the network it is in."""
    out: dict[str, int] = {}
    pieces = 0
    for node in sorted(net.nodes):
        if node not in out:
            pieces += 1
            out.update(dict.fromkeys(distances(net, node), pieces))
    return out


def _best_job(net: RoadNetwork, node: str, todo: set[str], by_id: dict[str, dict[str, Any]],
              cfg: PlanConfig, parts: dict[str, int]) -> tuple[str, float, str] | None:
    """(segment, travel metres, the end reached first) with the best score per travel; a
    search bounded at SEARCH_M first, the whole network only if a job beyond could win."""
    top = max(by_id[s]["score"] for s in todo)
    for limit in (SEARCH_M, math.inf):
        dist = distances(net, node, limit)
        best = None
        for seg_id in sorted(todo):
            seg = net.segments[seg_id]
            if parts[seg.a] != parts[node]:
                # another piece of a clipped extract: it connects outside the file
                here = net.nodes[node]
                ends = [(DETOUR * haversine_m(*here, *net.nodes[n]), n) for n in (seg.a, seg.b)]
            else:
                ends = [(dist[n], n) for n in (seg.a, seg.b) if n in dist]
                if not ends:
                    continue  # beyond this search's radius
            travel, near = min(ends)
            value = by_id[seg_id]["score"] / (1 + travel / cfg.travel_scale_m)
            if best is None or (-value, seg_id) < best[0]:
                best = ((-value, seg_id), seg_id, travel, near)
        if best is not None and -best[0][0] > top / (1 + SEARCH_M / cfg.travel_scale_m):
            return best[1:]
    return best[1:] if best is not None else None


def _centre(net: RoadNetwork) -> tuple[float, float]:
    lons = [x for x, _ in net.nodes.values()]
    lats = [y for _, y in net.nodes.values()]
    return (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2


def plan_geojson(net: RoadNetwork, plan: dict[str, Any]) -> dict[str, Any]:
    feats = [{"type": "Feature", "properties": row,
              "geometry": {"type": "LineString",
                           "coordinates": [list(c) for c in net.segments[row["segment"]].coords]}}
             for row in plan["segments"]]
    return {"type": "FeatureCollection", "features": feats,
            "properties": {k: v for k, v in plan.items() if k != "segments"}}


def not_in_shift(rows: list[dict[str, Any]]) -> int:
    return sum(1 for r in rows if r["planned"] and "crew" not in r)
