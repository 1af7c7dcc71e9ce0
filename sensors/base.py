"""The small interface every source implements (cf. bleak's BaseBleakScanner).

The records a source emits (`Batch`, `Observation`, `Measurement`) are in walkway/records.py.

A source runs in its own thread. It hands `Batch`es to `emit`; the edge commits each
batch's observations, measurements and the source's new `position` in ONE transaction,
so a killed edge restarts from the last committed position without loss or double count.
"""

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from walkway.records import Batch


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

