"""A scenario's places file for the city dashboard (walkway.places format).

A built-in scenario may ship `scenarios/places/NAME.toml` (the sapporo and snowstorm
scenarios share `places/sapporo.toml`). Otherwise one place per
node is made up: underground nodes are walkway sections, surface ones station fronts, the
first camera (else beam, else BLE) counts its people, laid out on a line near Odori.
The scenario's fresh snow and events are added as [[days]] and [[events]].
"""

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from simulator.scenario import SCENARIO_DIR, Scenario
from walkway.timeutil import iso_z

SHARED = {"snowstorm": "sapporo"}
PREFERENCE = ("camera", "tfluna", "ble")


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def generated_places(scenario: Scenario) -> str:
    lines = ['[city]', f'timezone = {_q(scenario.timezone)}']
    for i, node in enumerate(scenario.nodes):
        people = sorted((s for s in node.sensors if s.type in PREFERENCE),
                        key=lambda s: PREFERENCE.index(s.type))
        if not people:
            continue
        sensor = people[0]
        name = f"{sensor.name}.main" if sensor.type == "camera" else sensor.name
        kind = "walkway-section" if node.area == "underground" else "station-front"
        lines += ["", "[[places]]", f"id = {_q(node.id)}", f"site = {_q(node.site)}",
                  f"kind = {_q(kind)}", f"name = {{en = {_q(node.place)}}}",
                  f"lat = {43.0606 + 0.002 * (i % 5):.4f}",
                  f"lon = {141.3545 + 0.003 * (i // 5 + i % 3):.4f}", "route_m = 200",
                  "[[places.counters]]", f"node = {_q(node.id)}", f"sensor = {_q(name)}"]
    return "\n".join(lines) + "\n"


def places_text(scenario: Scenario, snow_cm: dict[str, float] | None = None) -> str:
    shipped = SCENARIO_DIR / "places" / f"{SHARED.get(scenario.name, scenario.name)}.toml"
    text = shipped.read_text("utf-8") if shipped.exists() else generated_places(scenario)
    zone = ZoneInfo(scenario.timezone)
    day = datetime.fromtimestamp(scenario.start, zone).date().isoformat()
    for date, cm in sorted((snow_cm or {day: scenario.snow_cm}).items()):
        text += f"\n[[days]]\ndate = {_q(date)}\nsnow_cm = {cm:g}\n"
    for e in scenario.events:
        at = iso_z(scenario.start + e.at_min * 60)
        text += (f"\n[[events]]\nname = {_q(e.name)}\nat = {_q(at)}\n"
                 f"places = {_q(list(e.nodes))}\n")
    return text


def write_places(scenario: Scenario, path: Path, snow_cm: dict[str, float] | None = None
                 ) -> Path:
    path.write_text(places_text(scenario, snow_cm), encoding="utf-8")
    return path
