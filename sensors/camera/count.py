"""Line counters: per track and line, a side state with a dead-band.

A track has a "stable side" only when its anchor is further than the dead-band from the
line; jitter inside the band changes nothing. A crossing is a change of stable side whose
step (last point on the old side -> first point on the new side) passes through the finite
segment; going round the end of a segment just moves the state. Every such crossing counts,
as the reference rule counts it: people who loop or walk back and forth over a line count
each time (the dead-band and REVERSE_S keep a hesitation at the line from counting), and a
track that was handed from one person to another (an ID switch in a group) still counts the
second person's crossing. A new ID born inside the band takes the side it was first seen on
(people found at start-up or leaving an occlusion at the line still count when they walk out
the other side), and a track crossing back within REVERSE_S of its last count is taken for
jitter.
"""

import math
from dataclasses import dataclass

from sensors.camera.geometry import IN, OUT, crosses_segment, side

# A track crossing back within this time of its last count on the same line is its box
# jittering on the line (a blob's bottom edge bouncing with the legs or a reflection), not
# a person turning round: nobody walking reverses that fast.
REVERSE_S = 0.3


@dataclass
class _State:
    side: int = 0
    point: tuple[float, float] = (0.0, 0.0)
    last: float = -1e9  # time of the last count


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
        state = self.states.get(track)
        if abs(distance) <= self.band or distance == 0:
            if state is None and distance != 0:
                # A track first seen inside the band (a person found at start-up or out of
                # an occlusion right at the line) takes the side it was first seen on, so
                # walking on out of the band's other side still counts.
                self.states[track] = _State(1 if distance > 0 else -1, foot)
            return None
        s = 1 if distance > 0 else -1
        if state is None:
            self.states[track] = _State(s, foot)
            return None
        event = None
        if s != state.side and crosses_segment(self.segment, state.point, foot):
            direction = IN if s < 0 else OUT
            if now - state.last >= REVERSE_S:
                state.last = now
                event = Crossing(self.index, direction, now, track)
        state.side, state.point = s, foot
        return event

    def forget(self, track: int) -> None:
        self.states.pop(track, None)
