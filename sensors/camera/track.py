"""A small multi-object tracker: constant-velocity prediction, greedy association.

Tracks are tentative until `min_hits` detections, coast on prediction through occlusions of
up to `max_missed_s`, and are matched by a cost mixing centre distance (relative to the box
size) and overlap. N is small (tens of people), so a greedy pass over the sorted cost
matrix is as good as Hungarian here and needs no SciPy.
"""

from dataclasses import dataclass

import numpy as np

# Gate: a detection may be matched to a track if its centre is within this many box sizes
# of the prediction (people walk about one body width per 0.3-0.4 s).
GATE = 1.2
ALPHA = 0.6  # weight of the measured position
BETA = 0.25  # weight of the velocity correction
SIZE_RATE = 0.3
NEW_TRACK_IOU = 0.2
# A confirmed blob track coasts this many times max_missed_s. A blob vanishes whole where a
# person detector still finds half a person: behind a lamp post or a sign (the blob is cut
# into slivers too small to keep) or inside a neighbour's blob, and blobs have no look to
# find a lost track again by (person_track.py keeps a lost track 2 s for that); at 7 fps
# 0.8 s is under 6 frames, less than a walker takes to pass behind a post.
COAST_STRETCH = 1.5


@dataclass(eq=False)
class Track:
    """State in plain floats: a handful of tracks per frame makes numpy's per-call cost
    dominate, and the tracker runs on every frame."""

    id: int
    cx: float
    cy: float
    w: float
    h: float
    time: float
    vx: float = 0.0
    vy: float = 0.0
    hits: int = 1
    last_seen: float = 0.0
    confirmed: bool = False
    updated: bool = True  # matched to a detection in the latest frame
    # The box it last took touched the picture's left, right or bottom edge (Tracker.frame):
    # the person is partly outside, so the box's bottom centre is not their foot.
    cut: bool = False

    @classmethod
    def from_box(cls, track_id: int, box: "np.ndarray", now: float) -> "Track":
        x, y, w, h = box.tolist()
        return cls(track_id, x + w / 2, y + h / 2, w, h, now, last_seen=now)

    @property
    def box(self) -> np.ndarray:
        return np.array([self.cx - self.w / 2, self.cy - self.h / 2, self.w, self.h])

    @property
    def foot(self) -> tuple[float, float]:
        """The anchor: bottom centre of the box."""
        return (self.cx, self.cy + self.h / 2)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box in a (N, 4) and b (M, 4): an (N, M) array."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2) - np.maximum(a[:, 0:1], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2) - np.maximum(a[:, 1:2], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    return inter / np.maximum(union, 1e-6)


def at_edge(left: float, right: float, bottom: float, frame: tuple[int, int]) -> bool:
    """A box with these edges touches the left, right or bottom edge of a `frame`-sized
    picture (the top edge cuts a far person's head, never their foot)."""
    return left < 1 or right > frame[0] - 1 or bottom > frame[1] - 1


class Tracker:
    def __init__(self, min_hits: int = 3, max_missed_s: float = 0.8) -> None:
        self.min_hits = min_hits
        self.max_missed_s = max_missed_s
        self.tracks: list[Track] = []
        self._next_id = 1
        # The processing frame's (width, height), to tell boxes cut by its edge (Track.cut);
        # None: not told.
        self.frame: tuple[int, int] | None = None

    def reset(self) -> None:
        self.tracks = []

    def predict(self, now: float) -> None:
        for t in self.tracks:
            dt = now - t.time
            if dt > 0:
                t.cx += t.vx * dt
                t.cy += t.vy * dt
                t.time = now
            t.updated = False

    def update(self, boxes: np.ndarray, now: float) -> list[Track]:
        """Predict to `now`, match `boxes`, and return tracks that died this frame."""
        self.predict(now)
        tracks = self.tracks
        matched_t: set[int] = set()
        matched_d: set[int] = set()
        if tracks and len(boxes):
            tc = np.array([(t.cx, t.cy) for t in tracks])
            tb = np.array([(t.cx - t.w / 2, t.cy - t.h / 2, t.w, t.h) for t in tracks])
            dc = boxes[:, :2] + boxes[:, 2:] / 2
            scale = np.maximum(
                np.maximum(tb[:, 2:3], tb[:, 3:4]), np.maximum(boxes[:, 2], boxes[:, 3])
            )
            dist = np.linalg.norm(tc[:, None, :] - dc[None, :, :], axis=2) / scale
            cost = dist + (1.0 - _iou(tb, boxes))
            order = np.argsort(cost, axis=None)
            for flat in order:
                i, j = divmod(int(flat), len(boxes))
                if dist[i, j] > GATE:
                    break
                if i in matched_t or j in matched_d:
                    continue
                matched_t.add(i)
                matched_d.add(j)
                self._correct(tracks[i], boxes[j], now)
        dead = []
        alive = []
        for i, t in enumerate(tracks):
            if i in matched_t:
                alive.append(t)
            elif not t.confirmed or now - t.last_seen > self.max_missed_s * COAST_STRETCH:
                # A tentative track that misses is noise or a split blob: drop it at once.
                dead.append(t)
            else:
                alive.append(t)
        fresh = [j for j in range(len(boxes)) if j not in matched_d]
        if fresh and alive:
            # A leftover piece of a person already tracked (a blob split into head and body,
            # or one person cut in two) must not start a second track that then counts
            # the same person again: only start tracks away from existing ones.
            held = np.array([(t.cx - t.w / 2, t.cy - t.h / 2, t.w, t.h) for t in alive])
            overlap = _iou(boxes[fresh], held).max(axis=1)
            fresh = [j for j, o in zip(fresh, overlap, strict=True) if o < NEW_TRACK_IOU]
        for j in fresh:
            track = Track.from_box(self._next_id, boxes[j], now)
            track.cut = self._cut(boxes[j])
            alive.append(track)
            self._next_id += 1
        self.tracks = alive
        return dead

    def _cut(self, box: np.ndarray) -> bool:
        """The box touches the left, right or bottom edge of the frame (at_edge)."""
        if self.frame is None:
            return False
        x, y, w, h = box.tolist()
        return at_edge(x, x + w, y + h, self.frame)

    def _correct(self, t: Track, box: np.ndarray, now: float) -> None:
        dt = max(1e-3, now - t.last_seen)
        t.cut = self._cut(box)
        x, y, w, h = box.tolist()
        rx, ry = x + w / 2 - t.cx, y + h / 2 - t.cy
        t.cx += ALPHA * rx
        t.cy += ALPHA * ry
        t.vx += BETA * rx / dt
        t.vy += BETA * ry / dt
        t.w += SIZE_RATE * (w - t.w)
        t.h += SIZE_RATE * (h - t.h)
        t.hits += 1
        t.last_seen = now
        t.updated = True
        if t.hits >= self.min_hits:
            t.confirmed = True
