"""Tracking a person detector's boxes through occlusion (ssdlite on eye-level views).

At eye level people walking in file hide each other: the one behind is found in some frames
only, and then often with a low score. The motion tracker (track.py) drops a tentative track
at its first miss and only knows confident boxes, so a hidden walker is never tracked long
enough to count. This tracker, after ByteTrack (Zhang et al., 2022):

- confident boxes (score >= `model_confidence`) are matched first, to every track;
- boxes scoring from `keep_confidence` up to that are matched second, to the tracks still
  unmatched: a weak box may continue a person already tracked, never start one (weak boxes
  alone are where the false tracks are);
- a tentative track may miss a few frames (`TENTATIVE_MISS_S`) before it is dropped;
- a confirmed track that is unmatched coasts on its velocity (constant-velocity prediction)
  for up to `max_missed_s`, hidden behind the person in front; a box found near its
  prediction takes it up again, with the same id and so the same line sides;
- past that it is lost, not dead: kept out of the matching for LOST_S, a confident box no
  live track took near its prediction (the gate widening with the time hidden) and not
  unlike its look brings it back with its id, so a crossing made while hidden is counted
  once, on reappearing, and one counted before is not counted again;
- appearance (a colour histogram of the clothes) is part of every match;
- with `detect_every` N > 1, the frames between detections move each box by the optical
  flow of its points (flow.py) and count on it; the time limits are stretched to span the
  same number of detector calls (see below).
"""

import math
from collections import deque

import cv2
import numpy as np

from sensors.camera.track import NEW_TRACK_IOU, Track, Tracker, _iou, at_edge

# A box may continue a track if its centre is within this many body widths of the track's
# prediction.
GATE_WIDTHS = 1.0

# A tentative track survives misses this long: a hidden walker is often found in one frame
# of two or three only, and the first misses would otherwise kill every such track.
TENTATIVE_MISS_S = 0.2
# ... and, detecting on every Nth frame only, this many detector intervals (two missed
# calls): a walker missed by one or two calls is still there.
TENTATIVE_MISS_CALLS = 2.5
CONFIRM_LEAST = 2  # detections, whatever detect_every
# A weak box must overlap the track's predicted box this much (it is only trusted to
# continue the person the track already follows, not a neighbour's box next to it).
LOW_IOU = 0.3
# A confirmed track unmatched for max_missed_s is lost: it no longer takes part in the
# matching, but for LOST_S after it was last seen a confident box that no live track took,
# within (GATE_WIDTHS + LOST_GROWTH x seconds since seen) body widths of its prediction
# and not unlike it, brings it back with its id and so its line sides.
# LOST_GROWTH is how far a walker can stray from the constant-velocity prediction per second
# hidden: about one change of pace (a body width a second). Twice that let another
# walker's box 4 widths off take up a standing man's lost track on TUD-Stadtmitte, 0.16 s
# before his own box came back 1.1 widths from it; the man's old side of x = 0.75 then
# counted that walker's crossing a second time.
LOST_S = 2.0
LOST_GROWTH = 1.0
# Velocity: a straight-line fit over the box centres matched in the last VELOCITY_S (at
# least VELOCITY_POINTS of them), steadier than a filter fed by the jumping boxes of a
# half-hidden walker; it carries the track across the gap while the walker is hidden.
VELOCITY_S = 0.8
VELOCITY_POINTS = 4
# Detecting on every Nth frame, VELOCITY_S holds fewer boxes: the fit then needs
# max(2, VELOCITY_POINTS / N) of them and keeps one more than that whatever their age.
# Appearance: a hue-saturation histogram of the middle of each box (torso and legs, the
# clothes), compared by Bhattacharyya distance (0 same, 1 nothing in common). It is added
# to the association cost with this weight, and a box further than LOOK_GATE from a track's
# look never continues it: a track coasting behind someone must not take up a neighbour.
LOOK_WEIGHT = 1.0
LOOK_GATE = 0.7
LOOK_RATE = 0.2  # how fast a track's look follows its own clear (unoverlapped) boxes
LOOK_BINS = (12, 4)
CLEAR_IOU = 0.1
# A tentative motion track handed over at the switch to this tracker (detector "auto") is
# continued, id and so line sides kept, by a new box overlapping its predicted box at least
# this much within the tentative miss time: the person it saw on the frame before the switch
# (offline, frame 0) is the same person, and a walker crossing the line between that frame
# and the next, first seen by this tracker already inside the band, still counts. Its foot
# must also be within HANDED_WIDTHS of the new box's widths of the new foot: the side it had
# is its foot's, and a blob of a standing group (CAVIAR corridor, frame 0) overlaps each of
# its people with its foot between them, on the wrong side of a line for one of them.
HANDED_IOU = 0.3
HANDED_WIDTHS = 0.5


def _boxes(tracks: list[Track]) -> np.ndarray:
    return np.array([(t.cx - t.w / 2, t.cy - t.h / 2, t.w, t.h) for t in tracks]).reshape(-1, 4)


class PersonTracker(Tracker):
    """Two-stage association of scored boxes; carries on a motion tracker's tracks."""

    def __init__(self, min_hits: int, max_missed_s: float, tracks: list[Track] | None = None,
                 next_id: int = 1, frame_s: float = 1 / 25) -> None:
        super().__init__(min_hits, max_missed_s)
        # A motion track carried over at the switch is only worth keeping once confirmed:
        # a tentative blob track is often a merged group, whose box is no one's.
        self.tracks = [t for t in tracks or [] if t.confirmed]
        # ... but the box it saw may be someone's: a new box on it continues it (HANDED_IOU).
        self.handed = [t for t in tracks or [] if not t.confirmed]
        self._next_id = next_id
        self.seen: dict[int, deque[tuple[float, float, float]]] = {}
        self.looks: dict[int, np.ndarray] = {}
        self.lost: list[Track] = []
        # The pipeline detects on every `every`th frame: each detection then stands for that
        # many frames of evidence, so a track is confirmed after min_hits / every of them.
        self.every = 1
        self.frame_s = frame_s  # seconds per frame (the pipeline's fps)
        self._gray: np.ndarray | None = None  # the previous frame, grey (detect_every > 1)
        # The processing frame's (width, height), set by the pipeline: a track that goes
        # unseen at its left, right or bottom edge walked out of the picture (not lost).
        self.picture: tuple[int, int] | None = None

    def _walked_out(self, t: Track) -> bool:
        """The track's box touches the picture's left, right or bottom edge (the top edge
        is where people far away are cut by it, and walk on)."""
        if self.picture is None:
            return False
        return at_edge(t.cx - t.w / 2, t.cx + t.w / 2, t.cy + t.h / 2, self.picture)

    def reset(self) -> None:
        super().reset()
        self._gray = None
        self.seen.clear()
        self.looks.clear()
        self.lost = []
        self.handed = []

    def _correct(self, t: Track, box: np.ndarray, now: float) -> None:
        super()._correct(t, box, now)
        if t.hits >= max(CONFIRM_LEAST, math.ceil(self.min_hits / self.every)):
            t.confirmed = True
        x, y, w, h = box.tolist()
        seen = self.seen.setdefault(t.id, deque())
        seen.append((now, x + w / 2, y + h / 2))
        least = max(2, math.ceil(VELOCITY_POINTS / self.every))
        while now - seen[0][0] > VELOCITY_S and (self.every == 1 or len(seen) > least + 1):
            seen.popleft()
        if len(seen) >= least:
            at, xs, ys = np.array(seen).T
            at = at - at.mean()
            spread = float(at @ at)
            if spread > 0:
                t.vx = float(at @ (xs - xs.mean())) / spread
                t.vy = float(at @ (ys - ys.mean())) / spread

    def _tentative_miss(self) -> float:
        """How long a tentative track may go unmatched."""
        if self.every == 1:
            return TENTATIVE_MISS_S
        return max(TENTATIVE_MISS_S, TENTATIVE_MISS_CALLS * self.every * self.frame_s)

    def _unlike(self, track: Track, look: np.ndarray | None) -> bool:
        mine = self.looks.get(track.id)
        return mine is not None and look is not None and _distance(mine, look) > LOOK_GATE

    def _associate(self, tracks: list[Track], boxes: np.ndarray, least_iou: float,
                   now: float, looks: list[np.ndarray | None],
                   growth: float = 0.0) -> tuple[set[int], set[int]]:
        """Greedy matching by centre distance + (1 - IoU) within the gate; corrects the
        matched tracks and returns the matched (track, box) indices."""
        matched_t: set[int] = set()
        matched_d: set[int] = set()
        if not tracks or not len(boxes):
            return matched_t, matched_d
        tb = _boxes(tracks)
        tc = tb[:, :2] + tb[:, 2:] / 2
        dc = boxes[:, :2] + boxes[:, 2:] / 2
        # In body widths, not heights as for blobs: a standing person's box is tall and
        # narrow, and a walker moves sideways a fraction of a width per frame.
        scale = np.maximum(tb[:, 2:3], boxes[:, 2])
        dist = np.linalg.norm(tc[:, None, :] - dc[None, :, :], axis=2) / scale
        overlap = _iou(tb, boxes)
        unlike = np.zeros_like(dist)
        for i, t in enumerate(tracks):
            mine = self.looks.get(t.id)
            for j, look in enumerate(looks):
                if mine is not None and look is not None:
                    unlike[i, j] = _distance(mine, look)
        cost = dist + (1.0 - overlap) + LOOK_WEIGHT * unlike
        # `growth`: the gate widens by this many body widths per second since last seen
        # (a lost track's prediction is further off the longer it was hidden).
        gate = [GATE_WIDTHS + growth * (now - t.last_seen) for t in tracks]
        for flat in np.argsort(cost, axis=None):
            i, j = divmod(int(flat), len(boxes))
            if i in matched_t or j in matched_d or dist[i, j] > gate[i]:
                continue
            if overlap[i, j] < least_iou or unlike[i, j] > LOOK_GATE:
                continue
            matched_t.add(i)
            matched_d.add(j)
            self._correct(tracks[i], boxes[j], now)
        return matched_t, matched_d

    def update(self, boxes: np.ndarray, now: float,  # type: ignore[override]
               weak: np.ndarray | None = None, image: np.ndarray | None = None) -> list[Track]:
        """Predict to `now`, match confident `boxes`, then `weak` boxes to the tracks left;
        return the tracks that died this frame. `image`: the colour frame the boxes are
        in, for the appearance cue (none: position only)."""
        self.predict(now)
        if image is not None and self.every > 1:
            self._gray = _grey(image)  # where follow() starts from on the next frame
        tracks = self.tracks
        weak = np.zeros((0, 4)) if weak is None else weak
        everyone = np.concatenate([boxes.reshape(-1, 4), weak.reshape(-1, 4)])
        looks = [None] * len(everyone) if image is None else [_look(image, b) for b in everyone]
        matched, used = self._associate(tracks, boxes, 0.0, now, looks[: len(boxes)])
        rest = [t for i, t in enumerate(tracks) if i not in matched]
        if len(weak) and rest:
            self._associate(rest, weak, LOW_IOU, now, looks[len(boxes):])
        dead, alive = [], []
        for t in tracks:
            missed = now - t.last_seen
            if t.updated:
                alive.append(t)
            elif not t.confirmed and missed > self._tentative_miss():
                dead.append(t)
            elif missed > self.max_missed_s:
                # Lost tracks come back far from where they were (the gate grows with the
                # time unseen, in the track's own widths, and a box cut by the edge is
                # wide): one that left the picture took up a walker appearing 150 px away
                # on the CAVIAR corridor and counted her crossings backwards.
                (dead if self._walked_out(t) else self.lost).append(t)
            else:
                alive.append(t)
        fresh = [j for j in range(len(boxes)) if j not in used]
        if fresh and self.lost:
            fresh = self._revive(boxes, fresh, looks, now, alive)
        dead.extend(t for t in self.lost if now - t.last_seen > LOST_S)
        self.lost = [t for t in self.lost if now - t.last_seen <= LOST_S]
        if fresh and alive:
            # A second box on a person already tracked must not start a second track; one
            # that looks like no one it overlaps is someone else (passing a hidden walker).
            overlap = _iou(boxes[fresh], _boxes(alive))
            fresh = [j for row, j in enumerate(fresh)
                     if not any(o >= NEW_TRACK_IOU and not self._unlike(t, looks[j])
                                for o, t in zip(overlap[row], alive, strict=True))]
        if fresh and self.handed:
            # After the test above: a box that continues a handed-over track is as new to
            # this tracker as any other and hides none of them.
            fresh = self._take_over(boxes, fresh, now, alive)
        gone = [t for t in self.handed if now - t.last_seen > self._tentative_miss()]
        self.handed = [t for t in self.handed if t not in gone]
        dead.extend(gone)
        for j in fresh:
            alive.append(Track.from_box(self._next_id, boxes[j], now))
            self._next_id += 1
        self.tracks = alive
        for t in dead:
            self.seen.pop(t.id, None)
            self.looks.pop(t.id, None)
        if image is not None:
            self._learn_looks(everyone, looks)
        return dead

    def follow(self, image: np.ndarray, now: float) -> None:
        """A frame between detections (`image`: the colour frame): each track moves by
        the optical flow of its points since the previous frame and is marked updated,
        so its line sides follow it; where the flow says nothing (hidden behind someone,
        no texture) it moves on its velocity and is not. Its time since last seen is not
        reset: only detections keep a track alive."""
        from sensors.camera.flow import box_moves

        gray = _grey(image)
        prev, self._gray = self._gray, gray
        moves = (box_moves(prev, gray, [(t.cx, t.cy, t.w, t.h) for t in self.tracks])
                 if prev is not None else [None] * len(self.tracks))
        before = [(t.cx, t.cy) for t in self.tracks]
        self.predict(now)
        for t, move, (x, y) in zip(self.tracks, moves, before, strict=True):
            if move is not None:
                # Where the flow says it went, not the velocity step predict() just took.
                t.cx, t.cy = x + move[0], y + move[1]
                t.updated = True
                # Where the flow put it is evidence for the velocity fit at the next
                # detection too (a fit over two or three boxes alone is poor).
                self.seen.setdefault(t.id, deque()).append((now, t.cx, t.cy))

    def _revive(self, boxes: np.ndarray, fresh: list[int], looks: list[np.ndarray | None],
                now: float, alive: list[Track]) -> list[int]:
        """Confident boxes no live track took, matched to lost tracks predicted on: a walker
        out of a long occlusion continues with its id (and so its line sides). Returns
        the boxes left over."""
        for t in self.lost:
            t.cx += t.vx * (now - t.time)
            t.cy += t.vy * (now - t.time)
            t.time = now
        back, taken = self._associate(self.lost, boxes[fresh], 0.0, now,
                                      [looks[j] for j in fresh], LOST_GROWTH)
        alive.extend(self.lost[i] for i in back)
        self.lost = [t for i, t in enumerate(self.lost) if i not in back]
        return [j for k, j in enumerate(fresh) if k not in taken]

    def _take_over(self, boxes: np.ndarray, fresh: list[int], now: float,
                   alive: list[Track]) -> list[int]:
        """Boxes no track took that overlap a handed-over tentative track's predicted box,
        with their foot where its foot is (HANDED_IOU, HANDED_WIDTHS): each continues that
        track's id with its own box (a blob's box is not the person's). Returns the boxes
        left over."""
        for t in self.handed:
            t.cx += t.vx * (now - t.time)
            t.cy += t.vy * (now - t.time)
            t.time = now
        overlap = _iou(_boxes(self.handed), boxes[fresh])
        taken: set[int] = set()
        kept: list[Track] = []
        for flat in np.argsort(-overlap, axis=None):
            i, k = divmod(int(flat), len(fresh))
            if overlap[i, k] < HANDED_IOU:
                break
            old = self.handed[i]
            if k in taken or old in kept:
                continue
            x, y, w, h = boxes[fresh[k]].tolist()
            if math.hypot(old.foot[0] - x - w / 2, old.foot[1] - y - h) > HANDED_WIDTHS * w:
                continue
            taken.add(k)
            kept.append(old)
            track = Track.from_box(old.id, boxes[fresh[k]], now)
            track.hits = old.hits + 1
            if track.hits >= max(CONFIRM_LEAST, math.ceil(self.min_hits / self.every)):
                track.confirmed = True
            self.seen[track.id] = deque([(now, x + w / 2, y + h / 2)])
            alive.append(track)
        self.handed = [t for t in self.handed if t not in kept]
        return [j for k, j in enumerate(fresh) if k not in taken]

    def _learn_looks(self, everyone: np.ndarray, looks: list[np.ndarray | None]) -> None:
        """Each track matched this frame learns its look from its box when that box is
        clear of every other box (a half-hidden person's box shows the one in front)."""
        if not len(everyone):
            return
        overlap = _iou(everyone, everyone)
        np.fill_diagonal(overlap, 0.0)
        clear = overlap.max(axis=1) < CLEAR_IOU if len(everyone) > 1 else np.ones(1, bool)
        for t in self.tracks:
            if not t.updated:
                continue
            j = int(np.argmax(_iou(t.box.reshape(1, 4), everyone)[0]))
            look = looks[j]
            if look is None or not clear[j]:
                continue
            mine = self.looks.get(t.id)
            self.looks[t.id] = look if mine is None else (1 - LOOK_RATE) * mine + LOOK_RATE * look


def _look(image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """Normalised hue-saturation histogram of the box's middle (none when it is tiny)."""
    x, y, w, h = box.tolist()
    x0, x1 = int(x + 0.25 * w), int(x + 0.75 * w)
    y0, y1 = int(y + 0.2 * h), int(y + 0.8 * h)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(image.shape[1], x1), min(image.shape[0], y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, list(LOOK_BINS), [0, 180, 0, 256])
    return hist / max(float(hist.sum()), 1e-6)


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance of two normalised histograms."""
    bc = float(np.sqrt(a * b).sum())
    return float(np.sqrt(max(0.0, 1.0 - bc)))


def _grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
