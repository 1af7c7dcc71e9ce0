"""Line counters: per track and line, a side state with a dead-band.

A track has a "stable side" only when its anchor is further than the dead-band from the
line; jitter inside the band changes nothing. A crossing is a change of stable side whose
step (last point on the old side -> first point on the new side) passes through the finite
segment, and whose foot's own step over the line went over the segment, not beyond its end
(LineCounter._through); going round the end of a segment just moves the state. A track that
ends carried out of the picture with its foot over the line, inside the band, walked out
over it (LineCounter.forget with `gone`), as every track does at the stream's end
(LineCounter.finish). Every such crossing counts,
as the reference rule counts it: people who loop or walk back and forth over a line count
each time (the dead-band keeps jitter at the line from counting), and a track that was
handed from one person to another (an ID switch in a group) still counts the second
person's crossing. A foot that goes over the line itself and straight back out of the band
on its own side is a person turning at the line: both crossings count (EXCURSION_S). A new
ID born inside the band takes the side it was first seen on (people found at start-up or
leaving an occlusion at the line still count when they walk out the other side), and a
track crossing back within REVERSE_S of its last count is held as jitter unless it walks on
(HELD_BANDS). Given the track's box, a change of side counts only once the box as a whole
has moved over (WHOLE_BOX_SHARE): a blob whose foot edge jumps because it grew or shrank is
held.
"""

import math
from dataclasses import dataclass

from sensors.camera.geometry import IN, OUT, crosses_segment, side

# A track crossing back within this time of its last count on the same line is most often
# its box jittering on the line (a blob's bottom edge bouncing with the legs or a
# reflection): that crossing back is held, not counted. It counts only if the track then
# walks on away from the line, its foot beyond HELD_BANDS dead-bands on that side, as a
# person who turned straight back does (at 7 fps, 0.3 s is two frames: someone stepping
# just over the line and back is out of the band again one frame after the first count),
# or if the track is lost on that side before going back over; a bouncing box goes back
# or stays at the line.
REVERSE_S = 0.3
HELD_BANDS = 2.0
# A track whose foot went over the line itself and came back out of the band on the side
# it came from, within this time of first going over, turned back at the line: the
# reference counts both crossings, and so does the counter (a box jittering over the line,
# or people standing on it, were over it long before). Timed from going over, not from
# entering the band: a walker nearing a line at a slant, mostly along it, spends seconds
# in the band before the turn. The foot must have gone this many
# dead-bands past the line: a tracked foot overshoots where a person turns (its velocity
# carries it on for a frame), so one that turned just short of the line seems to touch it.
EXCURSION_S = 1.5
EXCURSION_DEPTH = 0.25
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
# A segment's end this close (pixels) to the picture's border is on it (LineCounter._through).
BORDER_PX = 1.0


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
    held: "Crossing | None" = None  # a crossing back within REVERSE_S, not counted (yet)
    # Inside the band: how far the foot went past the line (towards the other side), where
    # and with what box, and when it first went over.
    deep: float = 0.0
    deep_point: tuple[float, float] = (0.0, 0.0)
    deep_extent: tuple[float, float] | None = None
    went: float = -1e9
    foot: tuple[float, float] | None = None  # the foot at the last update
    # Whether the foot's last step over the line itself passed through the finite segment
    # (LineCounter._through).
    through: bool = True
    cut: bool = False  # the box at the last update was cut by the picture's edge


@dataclass(frozen=True)
class Crossing:
    line: int
    direction: str  # "in" or "out" (labels are applied by the caller)
    time: float
    track: int


class LineCounter:
    """One segment in processing-frame pixels, with a dead-band of `band` pixels."""

    def __init__(self, index: int, segment: tuple[float, float, float, float], band: float,
                 frame: tuple[float, float] | None = None):
        """`frame`: the picture's (width, height) in the segment's pixels, if known: an end
        of the segment on the picture's border reaches on beyond it (see _through)."""
        self.index = index
        self.segment = segment
        self.frame = frame
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
               cut: bool = False) -> list[Crossing]:
        """The track's foot (and, to hold a crossing of one edge only, its box x, y, w, h)
        this frame: the crossings it makes (none, one, or two for a turn at the line).
        `cut`: the box is cut by the picture's edge, so its bottom centre is not the foot:
        it takes no first side (a person coming in at the edge beside a line would take one
        from part of their body), but it may complete a crossing begun in the picture (a
        person walking out over a line)."""
        state = self.states.get(track)
        if cut and state is None:
            return []
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
            state.through = self._through(state.foot, foot)
        if state is not None:
            state.seen, state.foot, state.cut = (now, distance), foot, cut
        if abs(distance) <= self.band or distance == 0:
            if state is None and distance != 0:
                # A track first seen inside the band (a person found at start-up or out of
                # an occlusion right at the line) takes the side it was first seen on, so
                # walking on out of the band's other side still counts.
                self.states[track] = _State(1 if distance > 0 else -1, foot, extent=extent,
                                            at=now, over=over,
                                            seen=(now, distance), foot=foot)
            elif state is not None and -state.side * distance > state.deep:
                if state.deep <= 0:
                    state.went = now
                state.deep, state.deep_point, state.deep_extent = (
                    -state.side * distance, foot, extent)
            return []
        s = 1 if distance > 0 else -1
        if state is None:
            self.states[track] = _State(s, foot, extent=extent, at=now, over=over,
                                        seen=(now, distance), foot=foot)
            return []
        if s != state.side:
            moved = distance - side(*self.segment, *state.point) / self.length
            if not _whole_box_moved(state.extent, extent, moved):
                return []  # held: one edge moved, not the person
        events: list[Crossing] = []
        if s == state.side:
            if state.held is not None and abs(distance) > HELD_BANDS * self.band:
                events, state.held, state.last = [state.held], None, now  # walked on: a turn
            elif self._turned(state, now):
                there = IN if s > 0 else OUT
                back = OUT if there == IN else IN
                events = [Crossing(self.index, there, state.went, track),
                          Crossing(self.index, back, state.passed, track)]
                state.last = now
        elif crosses_segment(self.segment, state.point, foot) and state.through:
            direction = IN if s < 0 else OUT
            # Counted when the foot has left the band; it crossed when it went over the
            # line itself (a slow walker: a second or more earlier).
            crossing = Crossing(self.index, direction, max(state.passed, state.at), track)
            if state.held is not None:
                state.held = None  # back again: the held crossing was a bounce
            elif now - state.last >= REVERSE_S:
                state.last, events = now, [crossing]
            else:
                state.held = crossing
        state.side, state.point, state.extent, state.at = s, foot, extent, now
        state.over, state.deep = over, 0.0
        return events

    def _through(self, before: tuple[float, float] | None, foot: tuple[float, float]) -> bool:
        """Did the step before -> foot, which went over the line, go over the finite segment?
        The step from the last point outside the band to the first one out on the other
        side is long where a walker crosses at a slant, and may pass through the segment
        when the foot itself went over the line beyond its end (a walker leaving the
        picture past a line that ends short of the edge): the reference, stepping frame
        by frame, counts only a foot that went over the segment. An end on the picture's
        border reaches on beyond it: a tracked foot carried out of the picture there
        still crossed the line as drawn."""
        if before is None:
            return True
        ax, ay, bx, by = self.segment
        d0 = side(ax, ay, bx, by, *before)
        d1 = side(ax, ay, bx, by, *foot)
        if d0 == d1:
            return True
        k = d0 / (d0 - d1)
        x, y = before[0] + k * (foot[0] - before[0]), before[1] + k * (foot[1] - before[1])
        u = ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / (self.length * self.length)
        if 0.0 <= u <= 1.0:
            return True
        end = (ax, ay) if u < 0 else (bx, by)
        return self._on_border(end)

    def _on_border(self, point: tuple[float, float]) -> bool:
        if self.frame is None:
            return False
        w, h = self.frame
        x, y = point
        return min(x, y, w - x, h - y) <= BORDER_PX

    def _turned(self, state: _State, now: float) -> bool:
        """Back out of the band on the side it came from: did the track go over the line
        and straight back (see EXCURSION_S)?"""
        if state.deep <= EXCURSION_DEPTH * self.band:
            return False
        if now - state.went > EXCURSION_S or state.went - state.last < REVERSE_S:
            return False
        if abs(side(*self.segment, *state.point)) / self.length <= self.band:
            return False  # born inside the band: it came from neither side
        return self._went_deep_over(state)

    def _went_deep_over(self, state: _State) -> bool:
        """The step from the last point out of the band to the deepest point past the line
        went over the segment, and moved the box as a whole (_whole_box_moved)."""
        if not crosses_segment(self.segment, state.point, state.deep_point):
            return False
        moved = side(*self.segment, *state.deep_point) / self.length - side(
            *self.segment, *state.point) / self.length
        return _whole_box_moved(state.extent, state.deep_extent, moved)

    def finish(self, track: int) -> Crossing | None:
        """The stream ended with the track alive (see Pipeline.finish): its crossing back
        still held, or, with its foot over the line itself inside the band (on the side
        it was not on), that crossing: the band waits for the foot to leave it, which no
        later frame will show, and the reference counts the line itself."""
        state = self.states.pop(track, None)
        if state is None:
            return None
        return state.held if state.held is not None else self._in_band(state, track)

    def forget(self, track: int, gone: bool = False) -> Crossing | None:
        """Drop a track that ended: its crossing back still held, if any (it was lost on
        that side without going back over: it walked on out of sight). `gone`: the track
        ended carried out of the picture by its own velocity (the person walked out of
        it), so a foot over the line inside the band crossed it, as at the stream's end,
        if it went EXCURSION_DEPTH dead-bands past the line and its last box was not cut
        by the picture's edge. Far walkers crossing a line at a slant just before leaving
        the picture go out of sight before their foot is out of the band; a cut box's
        bottom is part of the body (a blob shrinking into the side edge rises)."""
        state = self.states.pop(track, None)
        if state is None:
            return None
        if state.held is None and gone and not state.cut:
            return self._in_band(state, track, EXCURSION_DEPTH * self.band)
        return state.held

    def _in_band(self, state: _State, track: int, least: float = 0.0) -> Crossing | None:
        """The crossing of a track that ended with its foot over the line itself inside
        the band, more than `least` past it, after a step over the segment (_through), the
        box moved as a whole, not back over within REVERSE_S of its last count (a bounce):
        timed when it went over."""
        if state.over != -state.side or state.deep <= least or not state.through:
            return None
        if not self._went_deep_over(state):
            return None
        if state.passed - state.last < REVERSE_S:
            return None  # back over within REVERSE_S of its last count: a bounce
        return Crossing(self.index, IN if state.side > 0 else OUT, state.passed, track)


def _whole_box_moved(before: tuple[float, float] | None, now: tuple[float, float] | None,
                     moved: float) -> bool:
    """Both edges moved `moved`'s way by at least WHOLE_BOX_SHARE of it (no box: True)."""
    if before is None or now is None:
        return True
    sign = 1.0 if moved > 0 else -1.0
    least = min(sign * (now[0] - before[0]), sign * (now[1] - before[1]))
    return least >= WHOLE_BOX_SHARE * abs(moved)
