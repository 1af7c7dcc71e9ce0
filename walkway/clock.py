"""The wall clock, or a simulated one shared by every process of a `walkway sim` run.

`WALKWAY_CLOCK` chooses it (unset or "real": `time.time`):

    WALKWAY_CLOCK="sim:START_EPOCH:SPEED:WALL_EPOCH"

means "at wall time WALL_EPOCH it was START_EPOCH, and time runs SPEED times faster". All
four numbers are in the variable, not taken from each process's start, so an edge daemon
restarted after a simulated power cut reads the same time as every other process.
Only event time is simulated: timeouts, backoffs and sleeps stay in real seconds.
"""

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from walkway.errors import UsageError

ENV = "WALKWAY_CLOCK"


@dataclass(frozen=True)
class SimClock:
    """Simulated epoch seconds: `start` at wall time `wall_start`, `speed` times faster."""

    start: float
    speed: float
    wall_start: float
    wall: Callable[[], float] = time.time

    def __call__(self) -> float:
        return self.to_sim(self.wall())

    def to_sim(self, wall: float) -> float:
        return self.start + (wall - self.wall_start) * self.speed

    def to_wall(self, sim: float) -> float:
        return self.wall_start + (sim - self.start) / self.speed

    def env_value(self) -> str:
        return f"sim:{self.start:.3f}:{self.speed:g}:{self.wall_start:.3f}"


def parse_clock(text: str) -> SimClock | None:
    """A `WALKWAY_CLOCK` value -> SimClock, or None for the real clock."""
    text = text.strip()
    if text in ("", "real"):
        return None
    parts = text.split(":")
    try:
        if parts[0] != "sim" or len(parts) != 4:
            raise ValueError
        start, speed, wall_start = (float(p) for p in parts[1:])
        if not speed > 0:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"{ENV}: expected 'real' or 'sim:START_EPOCH:SPEED:WALL_EPOCH' with SPEED > 0,"
            f" got {text!r}"
        ) from None
    return SimClock(start, speed, wall_start)


def clock_from_env(environ: Mapping[str, str] | None = None) -> Callable[[], float]:
    """The process's event clock: `time.time` unless `WALKWAY_CLOCK` names a sim clock."""
    sim = parse_clock((os.environ if environ is None else environ).get(ENV, ""))
    return time.time if sim is None else sim
