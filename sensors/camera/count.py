"""Line counters: per track and line, a side state with a dead-band, once per direction.

A track has a "stable side" only when its anchor is further than the dead-band from the
line; jitter inside the band changes nothing. A crossing is a change of stable side whose
step (last point on the old side -> first point on the new side) passes through the finite
segment; going round the end of a segment just moves the state. Each track counts at most
once per direction per line, so an ID kept through a hesitation at the line does not count
twice, and a new ID born inside the band has no side to cross from.
"""

import math
from dataclasses import dataclass, field

from sensors.camera.geometry import IN, OUT, crosses_segment, side


@dataclass
class _State:
    side: int = 0
    point: tuple[float, float] = (0.0, 0.0)
    counted: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Crossing:
    line: int
    direction: str  # "in" or "out" (labels are applied by the caller)
    time: float
    track: int


class LineCounter:
    """One segment in processing-frame pixels, with a dead-band of `band` pixels."""

    def __init__(self, index: int, segment: tuple[float, float, float, float], band: float):
        self.index = index
        self.segment = segment
        ax, ay, bx, by = segment
        self.length = math.hypot(bx - ax, by - ay) or 1.0
        self.band = band
        self.states: dict[int, _State] = {}

    def update(self, track: int, foot: tuple[float, float], now: float) -> Crossing | None:
        distance = side(*self.segment, *foot) / self.length
        if abs(distance) <= self.band or distance == 0:
            return None
        s = 1 if distance > 0 else -1
        state = self.states.get(track)
        if state is None:
            self.states[track] = _State(s, foot)
            return None
        event = None
        if s != state.side and crosses_segment(self.segment, state.point, foot):
            direction = IN if s < 0 else OUT
            if direction not in state.counted:
                state.counted.add(direction)
                event = Crossing(self.index, direction, now, track)
        state.side, state.point = s, foot
        return event

    def forget(self, track: int) -> None:
        self.states.pop(track, None)
