"""Command-line overrides of a scenario: --nodes, --minutes, --speed, --faults."""

from dataclasses import replace
from types import MappingProxyType

from simulator.scenario import FAULT_KINDS, FaultPlan, NodePlan, Scenario, SensorPlan
from walkway.errors import UsageError

# Station fronts added when --nodes asks for more nodes than the scenario has.
EXTRA_STATIONS = (
    ("asabu", "Asabu station front (Namboku line, north end)"),
    ("fukuzumi", "Fukuzumi station front (Toho line, near the Dome)"),
    ("miyanosawa", "Miyanosawa station front (Tozai line, west end)"),
    ("hassamu-minami", "Hassamu-minami station front"),
    ("kita-jusan-jo", "Kita 13-jo Higashi station front"),
    ("sumikawa", "Sumikawa station front (Namboku line, south)"),
    ("hiragishi", "Hiragishi station front"),
    ("kikusui", "Kikusui station front (Tozai line, east)"),
)
# What a fault needs on its node; None: any node (broker-outage needs none at all).
NEEDS = MappingProxyType({
    "camera-covered": ("camera",),
    "sensor-unplugged": ("tfluna", "maxbotix", "wxt530", "ble"),
})


def with_nodes(scenario: Scenario, count: int) -> Scenario:
    nodes = list(scenario.nodes[:count])
    for i in range(len(nodes), count):
        extra = i - len(scenario.nodes)
        slug, place = EXTRA_STATIONS[extra % len(EXTRA_STATIONS)]
        suffix = "" if extra < len(EXTRA_STATIONS) else f"-{i}"
        sensors = (SensorPlan("tfluna", "gate", 12.0),)
        if extra % 2:
            sensors += (SensorPlan("maxbotix", "snow"),)
        nodes.append(NodePlan(f"{slug}{suffix}", place, "surface", sensors=sensors))
    ids = {n.id for n in nodes}
    faults = tuple(f for f in scenario.faults if f.node is None or f.node in ids)
    events = tuple(replace(e, nodes=tuple(n for n in e.nodes if n in ids))
                   for e in scenario.events if not e.nodes or set(e.nodes) & ids)
    return replace(scenario, nodes=tuple(nodes), faults=faults, events=events)


def parse_faults(text: str, scenario: Scenario) -> tuple[FaultPlan, ...]:
    """`KIND[@NODE][:AT_MIN[+MINUTES]]`, comma separated; `none` for no faults.

    Faults without a time are spread over the middle of the run, one after another.
    """
    text = text.strip()
    if text in ("", "none"):
        return ()
    items = [p.strip() for p in text.split(",") if p.strip()]
    ids = [n.id for n in scenario.nodes]
    out: list[FaultPlan] = []
    span = scenario.minutes * 0.55
    slot = span / len(items)
    for i, item in enumerate(items):
        head, _, when = item.partition(":")
        kind, _, node = head.partition("@")
        if kind not in FAULT_KINDS:
            raise UsageError(f"--faults: {kind!r}: expected one of {', '.join(FAULT_KINDS)}")
        if node and node not in ids:
            raise UsageError(f"--faults: {item!r}: expected a node from {', '.join(ids)}")
        at = scenario.minutes * 0.15 + i * slot
        minutes = max(1.0, min(slot * 0.7, scenario.minutes * 0.15))
        if when:
            at_text, _, dur_text = when.partition("+")
            try:
                at = float(at_text)
                minutes = float(dur_text) if dur_text else minutes
            except ValueError:
                raise UsageError(
                    f"--faults: {item!r}: expected KIND[@NODE][:AT_MIN[+MINUTES]]") from None
        out.append(FaultPlan(kind, at, minutes, node or None))
    return tuple(out)


def pick_node(scenario: Scenario, fault: FaultPlan, index: int) -> str | None:
    """The node a fault hits: its own, else one with what the fault needs (spread by index)."""
    if fault.kind == "broker-outage":
        return None
    if fault.node:
        return fault.node
    needs = NEEDS.get(fault.kind)
    fits = [n for n in scenario.nodes
            if needs is None or any(s.type in needs for s in n.sensors)]
    if not fits:
        return None
    return fits[index % len(fits)].id


def apply_overrides(scenario: Scenario, *, nodes: int | None = None,
                    minutes: float | None = None, speed: float | None = None,
                    faults: str | None = None, seed: int | None = None) -> Scenario:
    if nodes is not None:
        if not 1 <= nodes <= 40:
            raise UsageError(f"--nodes: expected 1 to 40, got {nodes}")
        scenario = with_nodes(scenario, nodes)
    if minutes is not None:
        if not 1 <= minutes <= 7 * 24 * 60:
            raise UsageError(f"--minutes: expected 1 to 10080 simulated minutes, got {minutes}")
        keep = tuple(f for f in scenario.faults if f.at_min < minutes)
        scenario = replace(scenario, minutes=minutes, faults=keep)
    if speed is not None:
        if not 0.1 <= speed <= 1000:
            raise UsageError(f"--speed: expected 0.1 to 1000, got {speed}")
        scenario = replace(scenario, speed=speed)
    if seed is not None:
        scenario = replace(scenario, seed=seed)
    if faults is not None:
        scenario = replace(scenario, faults=parse_faults(faults, scenario))
    resolved = tuple(replace(f, node=pick_node(scenario, f, i))
                     for i, f in enumerate(scenario.faults))
    return replace(scenario, faults=resolved)
