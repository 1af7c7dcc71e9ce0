"""Live figures for scenes: pedestrian flow per walkway and weather readings.

- This node's walkways: count bins of the last `window_min` minutes from the edge store
  (any sensor named in the package's crowding data; proof-of-play bins are left out).
- Neighbours' walkways: a JSON file the bridge/collector drops next to the player
  (`neighbours_file`, default `state_dir/neighbours.json`), written atomically:
      {"updated_at": 1764000000, "counts": {"<node>/<sensor>": <people per minute>}}
  Older than NEIGHBOUR_STALE_S it is ignored (a stale "quiet" would send people into a crowd).
- Weather: the newest measurement bins `temperature_c`, `snow_depth_mm`, `snowfall_mm_h`.
Anything missing falls back to nothing (the scene says "no data"), never to made-up numbers;
only `walkway signage render` and tests use the package's `sample` figures.
"""

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from walkway.errors import StoreError

log = logging.getLogger(__name__)
NEIGHBOUR_STALE_S = 600
WEATHER = ("temperature_c", "snow_depth_mm", "snowfall_mm_h")


@dataclass(frozen=True)
class Live:
    """Per-minute flow by walkway id (None: no data) and weather by quantity."""

    flow: dict[str, float | None] = field(default_factory=dict)
    weather: dict[str, float] = field(default_factory=dict)
    sample: bool = False

    def key(self) -> tuple:
        """What a cached scene depends on: rounded so noise does not force re-renders."""
        return (
            tuple(sorted((k, None if v is None else round(v)) for k, v in self.flow.items())),
            tuple(sorted((k, round(v, 1)) for k, v in self.weather.items())),
        )


def sample_live(package: Any) -> Live:
    """The package's sample figures: deterministic, for renders and golden tests."""
    flow: dict[str, float | None] = {}
    weather: dict[str, float] = {}
    for spec in package.scenes:
        data = package.data[spec.data]
        if spec.type == "crowding":
            flow.update({k: float(v) for k, v in data["sample"].items()})
        if spec.type == "weather":
            weather.update({k: float(v) for k, v in data["sample"].items() if k in WEATHER})
    return Live(flow, weather, sample=True)


def _walkways(package: Any) -> list[dict]:
    out = []
    for spec in package.scenes:
        if spec.type == "crowding":
            out.extend(package.data[spec.data]["walkways"])
    return out


class LiveStore(Protocol):
    """What the sign reads from the node's store (edge.store.Store)."""

    def sensor_total(
        self, sensor: str, since: int, *, exclude_source: str = ""
    ) -> tuple[int, int]: ...
    def latest_mean(self, quantity: str) -> float | None: ...


def read_live(
    package: Any,
    store: LiveStore | None,
    node: str,
    neighbours: Path,
    now: float,
    window_min: int,
) -> Live:
    """Read current flow and weather (see module docstring)."""
    flow: dict[str, float | None] = {}
    others = _read_neighbours(neighbours, now)
    since = int(now - window_min * 60)
    for w in _walkways(package):
        wnode = w.get("node", node)
        if wnode == node and store is not None:
            flow[w["id"]] = _local_rate(store, w["sensor"], since, window_min)
        else:
            flow[w["id"]] = others.get(f"{wnode}/{w['sensor']}")
    weather: dict[str, float] = {}
    if store is not None:
        for q in WEATHER:
            try:
                value = store.latest_mean(q)
            except (sqlite3.Error, StoreError) as exc:
                log.warning("signage: cannot read weather from store: %s", exc)
                break
            if value is not None:
                weather[q] = value
    return Live(flow, weather)


def _local_rate(store: LiveStore, sensor: str, since: int, window_min: int) -> float | None:
    try:
        total, bins = store.sensor_total(sensor, since, exclude_source="signage")
    except (sqlite3.Error, StoreError) as exc:
        log.warning("signage: cannot read counts from store: %s", exc)
        return None
    if not bins:
        return None  # no bins at all: "no data", which is not "nobody"
    return float(total) / window_min


def _read_neighbours(path: Path, now: float) -> dict[str, float]:
    try:
        body = json.loads(Path(path).read_text("utf-8"))
        if now - float(body["updated_at"]) > NEIGHBOUR_STALE_S:
            return {}
        return {str(k): float(v) for k, v in dict(body["counts"]).items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("signage: ignoring %s: %s", path, exc)
        return {}


def level(per_min: float | None, walkway: dict) -> str:
    """quiet / moderate / busy / unknown from the walkway's thresholds (people per minute)."""
    if per_min is None:
        return "unknown"
    if per_min >= walkway["busy_per_min"]:
        return "busy"
    if per_min >= walkway.get("moderate_per_min", walkway["busy_per_min"] / 2):
        return "moderate"
    return "quiet"
