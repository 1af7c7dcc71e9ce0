"""Counting lines and the side/crossing tests, shared with the ground-truth tools.

Convention (identical to ../shared/tools/gt_crossings.py): a line runs from A to B in
normalised frame coordinates (0..1, x right, y down). `side` > 0 is the right-hand side of a
person walking from A to B on the image, < 0 the left. "in" is a crossing towards the left.
The sign of `side` does not change when x and y are scaled by positive factors, so pixel
coordinates at any resolution give the same answer as normalised ones.
"""

from dataclasses import dataclass

from walkway.errors import UsageError

IN = "in"
OUT = "out"


@dataclass(frozen=True)
class CountLine:
    """A finite counting segment. `in_label`/`out_label` name the two directions."""

    name: str
    x1: float
    y1: float
    x2: float
    y2: float
    in_label: str = IN
    out_label: str = OUT

    @property
    def points(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def scaled(self, width: float, height: float) -> tuple[float, float, float, float]:
        return (self.x1 * width, self.y1 * height, self.x2 * width, self.y2 * height)


def parse_line_spec(text: str) -> tuple[float, float, float, float]:
    """`X1,Y1,X2,Y2` in 0..1 with A != B, or a UsageError saying what was expected."""
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise UsageError(f"--line {text!r}: expected X1,Y1,X2,Y2 (four numbers from 0 to 1)")
    if not all(0.0 <= v <= 1.0 for v in values):
        raise UsageError(f"--line {text!r}: expected coordinates from 0 to 1 (normalised)")
    if values[:2] == values[2:]:
        raise UsageError(f"--line {text!r}: expected two different end points")
    return values  # type: ignore[return-value]


def side(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> float:
    """> 0: right of A->B as seen on the image (y down); < 0: left; 0: on the line."""
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


def crosses_segment(
    line: tuple[float, float, float, float],
    p: tuple[float, float],
    q: tuple[float, float],
) -> bool:
    """True when the step p->q passes through the finite segment A-B (not its extension)."""
    ax, ay, bx, by = line
    s1, s2 = side(ax, ay, bx, by, *p), side(ax, ay, bx, by, *q)
    t1 = side(p[0], p[1], q[0], q[1], ax, ay)
    t2 = side(p[0], p[1], q[0], q[1], bx, by)
    return s1 * s2 < 0 and t1 * t2 <= 0


def direction_of(line: tuple[float, float, float, float], q: tuple[float, float]) -> str:
    """The direction of a crossing that ends at q: "in" when q is on the left of A->B."""
    return IN if side(*line, *q) < 0 else OUT


def crossing_events(
    tracks: dict[int, list[tuple[int, tuple[float, float]]]],
    line: tuple[float, float, float, float],
) -> list[tuple[int, int, str]]:
    """Every crossing of every track as (track, frame, direction), by the gt_crossings.py rule.

    `tracks` maps a track id to (frame, foot point) pairs in the same units as `line`; the
    frame of an event is that of the first point on the new side. Points on the line are
    skipped; a step counts only when it passes through the finite segment.
    """
    events = []
    ax, ay, bx, by = line
    for tid, points in tracks.items():
        trail = [(f, p) for f, p in sorted(points) if side(ax, ay, bx, by, *p) != 0]
        for (_, p), (frame, q) in zip(trail, trail[1:], strict=False):
            if crosses_segment(line, p, q):
                events.append((tid, frame, direction_of(line, q)))
    return events


def reference_crossings(
    tracks: dict[int, list[tuple[int, tuple[float, float]]]],
    line: tuple[float, float, float, float],
) -> dict[str, int]:
    """Crossings per direction, exactly as gt_crossings.py counts ground truth."""
    result = {IN: 0, OUT: 0}
    for _, _, direction in crossing_events(tracks, line):
        result[direction] += 1
    return result
