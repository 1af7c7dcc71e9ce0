"""Road networks for snow clearing: GeoJSON or OSM XML (.osm) into an undirected segment graph.

A segment is one straight piece of a road between two graph nodes (GeoJSON: one LineString
feature; OSM: two consecutive nodes of a `highway=*` way). GeoJSON files that list each
segment once per direction (the Hakken extract does) are folded into one undirected segment.

Width: the first of these that a segment has, and `width_source` says which:
  1. `width_m` (a GeoJSON property, e.g. from the city's road register),
  2. OSM `width` (metres; "6 m" and "6.5" accepted),
  3. OSM `lanes` x LANE_WIDTH_M,
  4. the fallback for its `highway` class (FALLBACK_WIDTH_M; `fallback:<class>`).
The fallback widths are typical carriageway widths of Japanese municipal roads by class
(a 2-lane secondary road about 12 m with its verges, a residential street about 6 m). They are
estimates, not measurements: every plan row says when one was used.
"""

import csv
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from walkway.errors import ConfigError

LANE_WIDTH_M = 3.25
FALLBACK_WIDTH_M: dict[str, float] = {
    "trunk": 16.0, "primary": 14.0, "secondary": 12.0, "tertiary": 9.0,
    "unclassified": 5.5, "residential": 6.0, "living_street": 4.5, "service": 4.0,
    "pedestrian": 6.0, "footway": 2.0, "path": 1.5, "steps": 1.5, "cycleway": 2.0,
}
OTHER_WIDTH_M = 5.0  # a highway class not in the table above
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Segment:
    id: str                      # "way:a:b" with a < b (stable across both directions)
    way_id: str
    name: str
    highway: str
    a: str                       # graph node ids
    b: str
    coords: tuple[tuple[float, float], ...]  # (lon, lat) from a to b
    length_m: float
    width_m: float
    width_source: str            # width_m | osm:width | osm:lanes | fallback:<highway>
    sidewalk: str = ""
    oneway: bool = False

    @property
    def midpoint(self) -> tuple[float, float]:
        (x1, y1), (x2, y2) = self.coords[0], self.coords[-1]
        return (x1 + x2) / 2, (y1 + y2) / 2

    @property
    def width_is_fallback(self) -> bool:
        return self.width_source.startswith("fallback:")


@dataclass
class RoadNetwork:
    source: str
    nodes: dict[str, tuple[float, float]] = field(default_factory=dict)  # id -> (lon, lat)
    segments: dict[str, Segment] = field(default_factory=dict)
    # node -> [(segment id, the other node)]
    adjacency: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def add(self, seg: Segment) -> None:
        if seg.id in self.segments or seg.a == seg.b:
            return
        self.segments[seg.id] = seg
        self.nodes.setdefault(seg.a, seg.coords[0])
        self.nodes.setdefault(seg.b, seg.coords[-1])
        self.adjacency.setdefault(seg.a, []).append((seg.id, seg.b))
        self.adjacency.setdefault(seg.b, []).append((seg.id, seg.a))

    def nearest_node(self, lon: float, lat: float) -> tuple[str, float]:
        """(node id, straight-line metres); ties broken by node id (deterministic)."""
        return min(((haversine_m(lon, lat, x, y), n) for n, (x, y) in self.nodes.items()),
                   key=lambda t: (t[0], t[1]))[::-1]

    @property
    def fallback_count(self) -> int:
        return sum(s.width_is_fallback for s in self.segments.values())


def parse_width(value: Any) -> float | None:
    """OSM width ("6", "6.5 m", "6,5") in metres, or None if not a plain metric width."""
    if value is None or value == "":
        return None
    text = str(value).strip().lower().removesuffix("m").strip().replace(",", ".")
    try:
        width = float(text)
    except ValueError:
        return None
    return width if 0 < width < 100 else None


def choose_width(highway: str, tags: dict[str, Any]) -> tuple[float, str]:
    """(metres, source) by the order in the module doc."""
    if (w := parse_width(tags.get("width_m"))) is not None:
        return w, "width_m"
    if (w := parse_width(tags.get("width"))) is not None:
        return w, "osm:width"
    try:
        lanes = int(str(tags.get("lanes", "")).strip())
    except ValueError:
        lanes = 0
    if lanes > 0:
        return lanes * LANE_WIDTH_M, "osm:lanes"
    return FALLBACK_WIDTH_M.get(highway, OTHER_WIDTH_M), f"fallback:{highway or 'unknown'}"


def _segment(way: str, a: str, b: str, pa: tuple[float, float], pb: tuple[float, float],
             tags: dict[str, Any], length: float | None = None) -> Segment:
    if b < a:
        a, b, pa, pb = b, a, pb, pa
    highway = str(tags.get("highway") or "")
    width, source = choose_width(highway, tags)
    name = str(tags.get("name") or "")
    return Segment(f"{way}:{a}:{b}", str(way), "" if name == "名称未登録" else name, highway,
                   a, b, (pa, pb), length if length else haversine_m(*pa, *pb), width, source,
                   str(tags.get("sidewalk") or ""), str(tags.get("oneway")) in ("yes", "1"))


def load_way_tags(path: Path | None) -> dict[str, dict[str, Any]]:
    """OSM tags per way id from a CSV with `way_id` and `tags_json` columns (the Hakken
    extract's sapporo_hakken_way_tags.csv)."""
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read way tags: {exc.strerror}"]) from exc
    out = {}
    for i, row in enumerate(rows, start=2):
        try:
            out[str(row["way_id"])] = json.loads(row.get("tags_json") or "{}")
        except (KeyError, ValueError) as exc:
            raise ConfigError([f"{path}:{i}: way_id and tags_json (a JSON object) expected:"
                               f" {exc}"]) from exc
    return out


def load_roads(path: Path | str, way_tags: Path | None = None) -> RoadNetwork:
    """A .geojson/.json or .osm road graph; bad input raises ConfigError naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read road network: {exc.strerror}"]) from exc
    extra = load_way_tags(way_tags)
    net = _load_osm(path, text) if path.suffix == ".osm" else _load_geojson(path, text, extra)
    if not net.segments:
        raise ConfigError([f"{path}: no road segments (LineString features or highway ways)"])
    return net


def _load_geojson(path: Path, text: str, extra: dict[str, dict[str, Any]]) -> RoadNetwork:
    try:
        data = json.loads(text)
        features = data["features"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError([f"{path}: not a GeoJSON FeatureCollection: {exc}"]) from exc
    net = RoadNetwork(str(path))
    for i, feat in enumerate(features):
        geom = (feat or {}).get("geometry") or {}
        coords = geom.get("coordinates")
        if geom.get("type") != "LineString" or not isinstance(coords, list) or len(coords) < 2:
            continue
        props = feat.get("properties") or {}
        way = str(props.get("way_id", f"f{i}"))
        tags = {**extra.get(way, {}), **props}
        task = str(props.get("task_id", "")).split(":")
        try:
            pts = [(float(c[0]), float(c[1])) for c in coords]
        except (TypeError, ValueError, IndexError) as exc:
            raise ConfigError([f"{path}: features[{i}].geometry.coordinates: [lon, lat]"
                               f" pairs expected: {exc}"]) from exc
        if len(task) == 4 and len(pts) == 2:  # way:segment:from:to, the Hakken layout
            net.add(_segment(way, task[2], task[3], pts[0], pts[1], tags,
                             float(props.get("length_m") or 0) or None))
            continue
        ids = [f"{x:.7f},{y:.7f}" for x, y in pts]  # nodes by position
        for j in range(len(pts) - 1):
            net.add(_segment(way, ids[j], ids[j + 1], pts[j], pts[j + 1], tags))
    return net


def _load_osm(path: Path, text: str) -> RoadNetwork:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ConfigError([f"{path}: not OSM XML: {exc}"]) from exc
    nodes = {}
    for n in root.iter("node"):
        try:
            nodes[n.get("id")] = (float(n.get("lon")), float(n.get("lat")))
        except (TypeError, ValueError) as exc:
            raise ConfigError([f"{path}: node {n.get('id')}: lat and lon expected"]) from exc
    net = RoadNetwork(str(path))
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if "highway" not in tags:
            continue
        refs = [r.get("ref") for r in way.iter("nd") if r.get("ref") in nodes]
        for a, b in zip(refs, refs[1:], strict=False):
            net.add(_segment(way.get("id"), a, b, nodes[a], nodes[b], tags))
    return net
