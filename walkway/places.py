"""The place model: sites, places, and which sensor and direction counts people for a place.

A places file is TOML (or JSON of the same shape; docs/city.md has every key):

    [city]
    timezone = "Asia/Tokyo"
    [[sites]]
    id = "sapporo"
    name = {ja = "札幌", en = "Sapporo", zh-Hans = "札幌", ko = "삿포로"}
    [[places]]
    id = "chikaho-north"
    site = "sapporo"
    kind = "walkway-section"          # or "exit", "station-front"
    name = {ja = "...", en = "...", zh-Hans = "...", ko = "..."}
    lat = 43.0672
    lon = 141.3508
    route_m = 520                     # walking route this place stands for (steps KPI)
    [[places.counters]]
    node = "chikaho-north"
    sensor = "cam.main"
    directions = ["in", "out"]       # optional: every people direction of the sensor
    [[days]]                          # optional: weather by city-local date, for comparisons
    date = "2026-01-14"
    snow_cm = 15
    [[events]]                        # optional: before/after comparisons
    name = "Odori Park winter event opens"
    at = "2026-01-14T08:16:00+09:00"
    places = ["aurora-town"]          # optional: every place

Figures (`figure_of`): a bin is "people" (camera lines, beam/ultrasonic passes, BLE's
`estimate`), "bound" (BLE's `lower`/`upper`), "detail" (BLE's `passby`/`staying`, parts of the
estimate), or "signage" (proof of play and interactions from the sign). Only "people" is
summed into pedestrian figures, so a BLE window is counted once and a played scene never.
"""

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from walkway.config_table import ConfigTable
from walkway.errors import ConfigError
from walkway.records import PLAY_SOURCE
from walkway.timeutil import CITY_TIMEZONE, parse_iso

LANGUAGES = ("ja", "en", "zh-Hans", "ko")
PLACE_KINDS = ("walkway-section", "exit", "station-front")
ID = r"[a-z0-9-]{1,40}"
BOUND_DIRECTIONS = ("lower", "upper")
DETAIL_DIRECTIONS = ("passby", "staying")
SIGNAGE_SENSOR = PLAY_SOURCE  # the sign's proof of play
SIGNAGE_PREFIXES = ("play.", "touch.", "interaction.")


def figure_of(sensor: str, direction: str) -> str:
    """people | bound | detail | signage: what a bin's count means (see the module doc)."""
    if sensor == SIGNAGE_SENSOR or direction.startswith(SIGNAGE_PREFIXES):
        return "signage"
    if direction in BOUND_DIRECTIONS:
        return "bound"
    if direction in DETAIL_DIRECTIONS:
        return "detail"
    return "people"


@dataclass(frozen=True)
class Counter:
    node: str
    sensor: str
    directions: tuple[str, ...] = ()  # empty: every "people" direction of the sensor

    def counts(self, direction: str) -> bool:
        if self.directions:
            return direction in self.directions
        return figure_of(self.sensor, direction) == "people"


@dataclass(frozen=True)
class Place:
    id: str
    site: str
    kind: str
    names: dict[str, str]
    lat: float
    lon: float
    route_m: float = 0.0
    counters: tuple[Counter, ...] = ()

    def name(self, lang: str = "en") -> str:
        return self.names.get(lang) or self.names.get("en") or self.id


@dataclass(frozen=True)
class Site:
    id: str
    names: dict[str, str]


@dataclass(frozen=True)
class Event:
    name: str
    at: float
    places: tuple[str, ...] = ()


@dataclass
class PlaceModel:
    timezone: str = CITY_TIMEZONE
    sites: dict[str, Site] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)
    snow_cm: dict[str, float] = field(default_factory=dict)  # local date -> fresh snow
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._roles: dict[tuple[str, str, str, str], tuple[str, tuple[str, ...]]] = {}
        self._by_series: dict[tuple[str, str, str], list[Place]] = {}
        for place in self.places.values():
            for c in place.counters:
                self._by_series.setdefault((place.site, c.node, c.sensor), []).append(place)

    def places_of(self, site: str, node: str, sensor: str, direction: str) -> list[Place]:
        """Places whose people figure includes this series (none for bounds and signage)."""
        if figure_of(sensor, direction) != "people":
            return []
        return [p for p in self._by_series.get((site, node, sensor), ())
                if any(c.node == node and c.sensor == sensor and c.counts(direction)
                       for c in p.counters)]

    def role_of(self, site: str, node: str, sensor: str, direction: str
                ) -> tuple[str, tuple[str, ...]]:
        """(figure, place ids) for a series: the places its people count goes to, or for a
        bound the places whose counters include its sensor (cached: called per row)."""
        key = (site, node, sensor, direction)
        found = self._roles.get(key)
        if found is None:
            kind = figure_of(sensor, direction)
            if kind == "people":
                ids = tuple(p.id for p in self.places_of(site, node, sensor, direction))
            elif kind == "bound":
                ids = tuple(p.id for p in self._by_series.get((site, node, sensor), ()))
            else:
                ids = ()
            found = self._roles[key] = (kind, ids)
        return found

    def place_label(self, site: str, node: str, sensor: str) -> str:
        """The place(s) a series stands at, for exports (also for bounds and signage)."""
        return ";".join(sorted(p.id for p in self._by_series.get((site, node, sensor), ())))


def _names(table: ConfigTable, what: str) -> dict[str, str]:
    value = table._get("name", None)
    if not isinstance(value, dict) or not isinstance(value.get("en"), str):
        table.problem("name", f"a table of {what} names with at least en"
                      f" (languages {', '.join(LANGUAGES)})", value)
        return {}
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        table.problem("name", f"languages among {', '.join(LANGUAGES)}", unknown)
    return {k: str(v) for k, v in value.items() if k in LANGUAGES}


def parse_places(data: dict[str, Any], file: Path) -> PlaceModel:
    problems: list[str] = []
    root = ConfigTable(file, "", data, problems)
    city = root.table("city")
    timezone = city.text("timezone", CITY_TIMEZONE)
    city.finish()
    sites: dict[str, Site] = {}
    for t in root.tables("sites"):
        sid = t.text("id", pattern=ID)
        sites[sid] = Site(sid, _names(t, "site"))
        t.finish()
    places: dict[str, Place] = {}
    for t in root.tables("places"):
        pid = t.text("id", pattern=ID)
        site = t.text("site", pattern=ID)
        if sites and site not in sites and site is not None:
            t.problem("site", "one of the [[sites]] ids " + ", ".join(sorted(sites)), site)
        counters = []
        for c in t.tables("counters"):
            directions = c.array("directions", [], what="a list of direction names")
            counters.append(Counter(c.text("node", pattern=ID), c.text("sensor"),
                                    tuple(str(d) for d in directions)))
            c.finish()
        if pid in places:
            t.problem("id", "a place id used once", pid)
        places[pid] = Place(
            id=pid, site=site, kind=t.text("kind", choices=PLACE_KINDS),
            names=_names(t, "place"), lat=t.number("lat", min=-90, max=90),
            lon=t.number("lon", min=-180, max=180), route_m=t.number("route_m", 0.0, min=0),
            counters=tuple(counters))
        t.finish()
    snow: dict[str, float] = {}
    for t in root.tables("days"):
        date = t.text("date", pattern=r"\d{4}-\d{2}-\d{2}")
        snow[date] = float(t.number("snow_cm", min=0) or 0)
        t.finish()
    events = []
    for t in root.tables("events"):
        at = t.text("at", what="an ISO 8601 time with its offset")
        try:
            when = parse_iso(at) if at else 0.0
        except ValueError:
            t.problem("at", "an ISO 8601 time with its offset", at)
            when = 0.0
        events.append(Event(t.text("name"), when,
                            tuple(str(x) for x in t.array("places", []))))
        t.finish()
    root.finish()
    if problems:
        raise ConfigError(problems)
    for site in {p.site for p in places.values()} - set(sites):
        sites[site] = Site(site, {"en": site})
    return PlaceModel(timezone, sites, places, snow, events)


def load_places(path: Path | str | None) -> PlaceModel:
    """A places file (TOML, or JSON by its .json suffix); None: an empty model."""
    if path is None:
        return PlaceModel()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read places file: {exc.strerror}"]) from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}:"
                           f" {exc}"]) from exc
    return parse_places(data, path)


def places_geojson(model: PlaceModel, flows: dict[str, float] | None = None) -> dict[str, Any]:
    """Places as a GeoJSON FeatureCollection (lon, lat order), with optional flows."""
    features = []
    for p in model.places.values():
        props: dict[str, Any] = {"id": p.id, "site": p.site, "kind": p.kind,
                                 "route_m": p.route_m,
                                 **{f"name_{lang}": p.names.get(lang) for lang in LANGUAGES}}
        if flows is not None:
            props["people_per_hour"] = flows.get(p.id)
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]}})
    return {"type": "FeatureCollection", "features": features}


def auto_places(storage: Any) -> PlaceModel:
    """No places file: one place per (site, node) with all its people series, laid out on a
    grid near Odori (its name says the position is not set)."""
    series = sorted({(r["site"], r["node"], r["sensor"]) for r in storage.rollup("day", 0, 2**40)
                     if figure_of(r["sensor"], r["direction"]) == "people"})
    places: dict[str, Place] = {}
    nodes = sorted({(site, node) for site, node, _ in series})
    for i, (site, node) in enumerate(nodes):
        counters = tuple(Counter(node, sensor) for s, n, sensor in series
                         if (s, n) == (site, node))
        pid = node if node not in places else f"{site}-{node}"
        places[pid] = Place(pid, site, "walkway-section",
                            {"en": f"{node} ({site}; position not set)"},
                            43.0606 + 0.002 * (i % 6), 141.3545 + 0.003 * (i // 6),
                            0.0, counters)
    return PlaceModel(places=places)
