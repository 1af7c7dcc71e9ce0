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
jitter. Given the track's box, a change of side counts only once the box as a whole has
moved over (WHOLE_BOX_SHARE): a blob whose foot edge jumps because it grew or shrank is held.
"""

import math
from dataclasses import dataclass

from sensors.camera.geometry import IN, OUT, crosses_segment, side

# A track crossing back within this time of its last count on the same line is its box
# jittering on the line (a blob's bottom edge bouncing with the legs or a reflection), not
# a person turning round: nobody walking reverses that fast.
REVERSE_S = 0.3
# A crossing moves the whole box: both of its edges along the line's normal must have moved
# the foot's way by at least this share of the foot's move since the last point on the old
# side. A blob that only grows or shrinks at one edge (a walker merging into or leaving a
# standing group, a reflection joining it, a track taking a smaller blob after coasting)
# moves its foot and not its far edge; its change of side is held (the old side and point
# stay) until the box as a whole has moved, so a blob that grows over a line and shrinks
# back counts nothing, and one that then walks on counts once. Seen from above or obliquely
# a walker's far edge moves (1 - slope) of the foot's way (slope: autosize.SizeFit); at eye
# level it hardly moves, so the pipeline passes boxes only for views below that.
WHOLE_BOX_SHARE = 0.15
# A track updated again after more than this (it coasted unseen) has its crossing of the
# line timed between the two updates.
UNSEEN_S = 0.3


@dataclass
class _State:
    side: int = 0
    point: tuple[float, float] = (0.0, 0.0)
    last: float = -1e9  # time of the last count
    extent: tuple[float, float] | None = None  # the box's (near, far) along the normal there
    at: float = -1e9  # when it was at `point`
    # When the foot last went over the line itself (inside the band): the crossing's time.
    passed: float = -1e9
    over: int = 0  # the side of the line itself (not of the band) last seen
    # When and how far from the line (signed) the foot was at the last update.
    seen: tuple[float, float] = (-1e9, 0.0)


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

    def _extent(self, box: tuple[float, float, float, float] | None
                ) -> tuple[float, float] | None:
        """The box's least and most signed distance along the line's normal."""
        if box is None:
            return None
        ax, ay, bx, by = self.segment
        nx, ny = -(by - ay) / self.length, (bx - ax) / self.length
        x, y, w, h = box
        xs = (x * nx, (x + w) * nx)
        ys = (y * ny, (y + h) * ny)
        return (min(xs) + min(ys), max(xs) + max(ys))

    def update(self, track: int, foot: tuple[float, float], now: float,
               box: tuple[float, float, float, float] | None = None,
               cut: bool = False) -> Crossing | None:
        """The track's foot (and, to hold a crossing of one edge only, its box x, y, w, h)
        this frame: the crossing it makes, or None. `cut`: the box is cut by the picture's
        edge, so its bottom centre is not the foot: it takes no first side (a person coming
        in at the edge beside a line would take one from part of their body), but it may
        complete a crossing begun in the picture (a person walking out over a line)."""
        state = self.states.get(track)
        if cut and state is None:
            return None
        distance = side(*self.segment, *foot) / self.length
        extent = self._extent(box)
        over = 1 if distance > 0 else -1 if distance < 0 else 0
        if state is not None and over and over != state.over:
            # Over the line since the last update. A track that coasted unseen over it
            # (behind someone, behind a post) crossed it in between, in proportion to the
            # distances on either side, not when it is seen again; from one frame to the
            # next it is timed at the first point over, as the reference rule times it.
            t0, d0 = state.seen
            gap = abs(d0) + abs(distance)
            state.over, state.passed = over, now
            if now - t0 > UNSEEN_S and gap > 0:
                state.passed = t0 + (now - t0) * abs(d0) / gap
        if state is not None:
            state.seen = (now, distance)
        if abs(distance) <= self.band or distance == 0:
            if state is None and distance != 0:
                # A track first seen inside the band (a person found at start-up or out of
                # an occlusion right at the line) takes the side it was first seen on, so
                # walking on out of the band's other side still counts.
                self.states[track] = _State(1 if distance > 0 else -1, foot, extent=extent,
                                            at=now, over=over,
                                            seen=(now, distance))
            return None
        s = 1 if distance > 0 else -1
        if state is None:
            self.states[track] = _State(s, foot, extent=extent, at=now, over=over,
                                        seen=(now, distance))
            return None
        if s != state.side:
            moved = distance - side(*self.segment, *state.point) / self.length
            if not _whole_box_moved(state.extent, extent, moved):
                return None  # held: one edge moved, not the person
        event = None
        if s != state.side and crosses_segment(self.segment, state.point, foot):
            direction = IN if s < 0 else OUT
            if now - state.last >= REVERSE_S:
                state.last = now
                # Counted when the foot has left the band; it crossed when it went over
                # the line itself (a slow walker: a second or more earlier).
                event = Crossing(self.index, direction, max(state.passed, state.at), track)
        state.side, state.point, state.extent, state.at = s, foot, extent, now
        state.over = over
        return event

    def forget(self, track: int) -> None:
        self.states.pop(track, None)


def _whole_box_moved(before: tuple[float, float] | None, now: tuple[float, float] | None,
                     moved: float) -> bool:
    """Both edges moved `moved`'s way by at least WHOLE_BOX_SHARE of it (no box: True)."""
    if before is None or now is None:
        return True
    sign = 1.0 if moved > 0 else -1.0
    least = min(sign * (now[0] - before[0]), sign * (now[1] - before[1]))
    return least >= WHOLE_BOX_SHARE * abs(moved)
