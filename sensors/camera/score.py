"""Scoring counts against MOTChallenge-format ground truth: reference counts, errors, events.

The reference is the rule of ../shared/tools/gt_crossings.py (`geometry.crossing_events` on
each track's foot point, the bottom centre of its box). A counted crossing is a true positive
when a reference crossing of the same line and direction lies within `MATCH_S` of it; each
reference crossing matches at most one count (closest pairs first). Accuracy, per direction:
1 - sum |counted - reference| / sum reference.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sensors.camera.geometry import crossing_events
from walkway.errors import InputFileError

MATCH_S = 1.0

Tracks = dict[int, list[tuple[int, tuple[float, float]]]]


def load_mot(path: Path) -> Tracks:
    """Foot points per track id from `frame,id,left,top,width,height,...` rows."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ground truth ({exc.strerror})") from None
    tracks: Tracks = defaultdict(list)
    for number, row in enumerate(text.splitlines(), 1):
        if not row.strip():
            continue
        try:
            frame, tid, left, top, w, h = (float(v) for v in row.split(",")[:6])
        except ValueError:
            raise InputFileError(
                f"{path}:{number}: expected MOT rows frame,id,left,top,width,height,..."
            ) from None
        tracks[int(tid)].append((int(frame), (left + w / 2, top + h)))
    if not tracks:
        raise InputFileError(f"{path}: no ground-truth rows (expected MOT format)")
    return dict(tracks)


@dataclass
class LineScore:
    reference: dict[str, int] = field(default_factory=lambda: {"in": 0, "out": 0})
    counted: dict[str, int] = field(default_factory=lambda: {"in": 0, "out": 0})
    tp: int = 0
    fp: int = 0
    fn: int = 0
    ignored: list[str] = field(default_factory=list)

    @property
    def abs_error(self) -> int:
        return sum(abs(self.counted[d] - self.reference[d]) for d in ("in", "out"))

    def as_dict(self) -> dict:
        return {
            "reference": dict(self.reference),
            "error": {d: self.counted[d] - self.reference[d] for d in ("in", "out")},
            "tp": self.tp, "fp": self.fp, "fn": self.fn,
            **({"ignored": list(self.ignored)} if self.ignored else {}),
        }


def match(counted: Sequence[float], reference: Sequence[float], tolerance: float) -> int:
    """How many counts pair with a reference time within `tolerance` (closest pairs first)."""
    pairs = sorted(
        (abs(c - r), i, j)
        for i, c in enumerate(counted)
        for j, r in enumerate(reference)
        if abs(c - r) <= tolerance
    )
    used_c: set[int] = set()
    used_r: set[int] = set()
    for _, i, j in pairs:
        if i not in used_c and j not in used_r:
            used_c.add(i)
            used_r.add(j)
    return len(used_c)


def score_line(
    tracks: Tracks,
    line_px: tuple[float, float, float, float],
    counted: Iterable[tuple[float, str]],
    fps: float,
    ignore: Iterable[str] = (),
    tolerance: float = MATCH_S,
) -> LineScore:
    """Score one line: `counted` holds (seconds, direction); GT frame N is time (N-1)/fps.

    `ignore` names reference events to leave out ("id4@3:out", as counts.json writes them),
    e.g. annotation jitter a real counter cannot reproduce.
    """
    skip = set(ignore)
    score = LineScore()
    reference: dict[str, list[float]] = {"in": [], "out": []}
    for tid, frame, direction in crossing_events(tracks, line_px):
        name = f"id{tid}@{frame}:{direction}"
        if name in skip:
            score.ignored.append(name)
            continue
        reference[direction].append((frame - 1) / fps)
    times: dict[str, list[float]] = {"in": [], "out": []}
    for t, direction in counted:
        times[direction].append(t)
    for d in ("in", "out"):
        score.reference[d] = len(reference[d])
        score.counted[d] = len(times[d])
        hit = match(times[d], reference[d], tolerance)
        score.tp += hit
        score.fp += len(times[d]) - hit
        score.fn += len(reference[d]) - hit
    return score


def summary(scores: Iterable[LineScore]) -> dict:
    """Accuracy (per direction) and event precision/recall/F1 over several lines or clips."""
    scores = list(scores)
    ref = sum(s.reference["in"] + s.reference["out"] for s in scores)
    err = sum(s.abs_error for s in scores)
    tp, fp, fn = (sum(getattr(s, k) for s in scores) for k in ("tp", "fp", "fn"))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return {
        "reference": ref,
        "abs_error": err,
        "accuracy": round(1 - err / ref, 4) if ref else (1.0 if err == 0 else 0.0),
        "tp": tp, "fp": fp, "fn": fn,
        "f1": round(f1, 4),
    }
