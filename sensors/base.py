"""The small interface every source implements (cf. bleak's BaseBleakScanner).

A source runs in its own thread. It hands `Batch`es to `emit`; the edge commits each
batch's observations, measurements and the source's new `position` in ONE transaction,
so a killed edge restarts from the last committed position without loss or double count.
"""

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

# A watermark meaning "this source will send nothing older than anything, ever" (end of file).
END_OF_TIME = 1e15


@dataclass(frozen=True, slots=True)
class Observation:
    """`count` pedestrians seen by `sensor` going `direction` at `time` (epoch s, UTC)."""

    time: float
    sensor: str
    direction: str
    count: int


@dataclass(frozen=True, slots=True)
class Measurement:
    """One reading of a physical quantity (e.g. `temperature_c`, `snow_depth_mm`)."""

    time: float
    sensor: str
    quantity: str
    value: float


@dataclass(frozen=True, slots=True)
class Batch:
    """What a source hands to the edge, committed atomically.

    position: opaque resume point (e.g. a file offset); None keeps the stored one.
    watermark: the source promises nothing older than this will follow (event time);
      bins ending `grace_seconds` before it are sealed. Live sources use their clock.
    """

    observations: Sequence[Observation] = ()
    measurements: Sequence[Measurement] = ()
    position: str | None = None
    watermark: float | None = None


class SourceState(StrEnum):
    STARTING = "starting"
    OK = "ok"
    IDLE = "idle"
    STALLED = "stalled"
    DISCONNECTED = "disconnected"
    DEGRADED = "degraded"


@dataclass(frozen=True)
class SourceStatus:
    state: SourceState
    reason: str = ""
    counters: Mapping[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"state": str(self.state), "reason": self.reason, "counters": dict(self.counters)}


@dataclass(frozen=True)
class SourceContext:
    """What the edge gives a source: identity, an injectable clock, the config's folder."""

    node_id: str
    config_dir: Path
    clock: Callable[[], float]
    bin_seconds: int = 60  # the store's bin width: a windowed source should match it


Emit = Callable[[Batch], None]


class Source(ABC):
    """A producer of observations/measurements. Subclasses live in one folder per kind."""

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def run(self, emit: Emit, stop: threading.Event, position: str | None) -> None:
        """Produce batches until `stop` is set. `position` is the last committed one."""

    def status(self) -> SourceStatus:
        return SourceStatus(SourceState.OK)


# Sensor, direction and quantity names as the wire schema accepts them (docs/schemas/).
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,79}"
