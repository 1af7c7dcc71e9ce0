"""Weeks of simulated history for the city dashboard: the scenario's demand model, binned.

`walkway sim` runs one morning; planning questions (this week against a baseline, snow days
against dry days) need weeks. `write_history` draws seeded Poisson counts per 15-minute bin
from the same Demand model (real weekly shape, snow pushing people underground, the
scenario's events on its own day) for every day up to the scenario's day, with a seeded
snow pattern, and stores them through the collector's storage. It is labelled simulated
wherever it is used; it never replaces the run's own counts (it stops where the run starts).
"""

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from simulator.demand import Demand
from simulator.scenario import Scenario
from walkway.timeutil import iso_z

BIN_S = 900
SNOW_CHOICES = (0, 0, 0, 2, 5, 12, 25)  # fresh snow per day, cm: most days dry


def snow_pattern(scenario: Scenario, days: int) -> dict[str, float]:
    """Local date -> fresh snow (cm); the scenario's own day keeps its snow_cm."""
    rng = np.random.default_rng(scenario.seed + 1000)
    zone = Demand(scenario).zone
    last = datetime.fromtimestamp(scenario.start, zone).date()
    out = {}
    for back in range(days, 0, -1):
        out[(last - timedelta(days=back)).isoformat()] = float(rng.choice(SNOW_CHOICES))
    out[last.isoformat()] = scenario.snow_cm
    return out


def _bins(node: str, sensor: str, kind: str, start: int, people: int,
          rng: np.random.Generator) -> list[dict[str, Any]]:
    def b(name: str, direction: str, n: int) -> dict[str, Any]:
        return {"sensor": name, "start": iso_z(start), "seconds": BIN_S,
                "direction": direction, "count": int(n), "version": 1}

    if kind == "camera":
        inn = int(rng.binomial(people, 0.55)) if people else 0
        return [b(f"{sensor}.main", "in", inn), b(f"{sensor}.main", "out", people - inn)]
    if kind == "ble":
        staying = int(people * 0.2)
        return [b(sensor, "estimate", people), b(sensor, "lower", int(people * 0.75)),
                b(sensor, "upper", int(people * 1.4 + 1)), b(sensor, "staying", staying),
                b(sensor, "passby", people - staying)]
    if kind == "tfluna":
        return [b(sensor, "pass", people)]
    return []


def write_history(storage: Any, scenario: Scenario, days: int = 35) -> int:
    """Store `days` days of bins before the scenario's start (and its day up to the start)."""
    snow = snow_pattern(scenario, days)
    demand = Demand(scenario)
    run_day = datetime.fromtimestamp(scenario.start, demand.zone).replace(
        hour=0, minute=0, second=0, microsecond=0)
    first = run_day - timedelta(days=days)
    rng = np.random.default_rng(scenario.seed + 2000)
    stored = 0
    for back in range(days + 1):
        day = first + timedelta(days=back)
        day_scenario = replace(scenario, snow_cm=snow[day.date().isoformat()])
        if back < days:  # the scenario's events happen on its own day only
            day_scenario = replace(day_scenario, events=())
        model = Demand(day_scenario)
        end = min(int((day + timedelta(days=1)).timestamp()), int(scenario.start))
        for node in scenario.nodes:
            bins: list[dict[str, Any]] = []
            for start in range(int(day.timestamp()), end - BIN_S + 1, BIN_S):
                for sensor in node.sensors:
                    rate = model.rate(node, sensor, start + BIN_S / 2)
                    people = int(rng.poisson(rate * BIN_S / 60))
                    bins += _bins(node.id, sensor.name, sensor.type, start, people, rng)
                if node.signage and datetime.fromtimestamp(start, demand.zone).hour in (8, 12):
                    bins.append({"sensor": "signage", "start": iso_z(start), "seconds": BIN_S,
                                 "direction": "play.events", "count": 3, "version": 1})
            if bins:
                storage.upsert({"site": node.site, "node": node.id, "bins": bins}, 0.0)
                stored += len(bins)
        storage.commit()
    return stored
