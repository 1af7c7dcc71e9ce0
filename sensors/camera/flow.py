"""Moving people's boxes between detector calls by sparse optical flow (ssdlite, eye level).

A Pi-class core runs the person detector on every Nth frame only (`detect_every`). Between
two calls a walker moves up to a body width; predicting on a velocity fitted to a few boxes
drifts, the next boxes then match the wrong tracks or none. Corners found on each person
and followed to the next frame with pyramidal Lucas-Kanade (forward and back, so a point
that does not come back to where it started is dropped) say how far each box moved, at
~1-3 ms a frame instead of the detector's ~0.16 s.

Each point belongs to the person in front where boxes overlap (at eye level the box whose
foot is lower on the picture is nearer): a walker hidden behind another gets no points
and keeps moving on its velocity, rather than following the one in front. Only the middle
of a box is sampled (head and torso move with the body; the legs swing, and the box's
sides are background).
"""

import cv2
import numpy as np

# The part of a box whose corners are followed: the middle half of its width, from just
# under the top to the hips.
INNER_X = (0.25, 0.75)
INNER_Y = (0.05, 0.6)
MIN_POINTS = 4  # a box with fewer points that came back keeps its velocity prediction
MAX_CORNERS = 300
CORNER_QUALITY = 0.01
CORNER_SPACING = 3
WINDOW = (15, 15)
LEVELS = 2
BACK_PX = 1.0  # forward-backward error above which a point is not trusted
# Only the part of the frame around the boxes is searched and followed (the corner search
# and the image pyramids cost by the pixel), with this margin for the motion.
MARGIN = 40


def box_moves(prev: np.ndarray, gray: np.ndarray,
              boxes: list[tuple[float, float, float, float]]) -> list[tuple[float, float] | None]:
    """For each (cx, cy, w, h) box in `prev`, its median (dx, dy) into `gray`, or None where
    too few of its points could be followed (hidden, textureless, out of the picture)."""
    moves: list[tuple[float, float] | None] = [None] * len(boxes)
    if not boxes or prev.shape != gray.shape:
        return moves
    h, w = gray.shape[:2]
    owner = np.full((h, w), -1, np.int16)
    # Far (foot higher on the picture) first, so nearer people overwrite them.
    for i in sorted(range(len(boxes)), key=lambda k: boxes[k][1] + boxes[k][3] / 2):
        cx, cy, bw, bh = boxes[i]
        x0, x1 = int(cx - bw / 2 + INNER_X[0] * bw), int(cx - bw / 2 + INNER_X[1] * bw)
        y0, y1 = int(cy - bh / 2 + INNER_Y[0] * bh), int(cy - bh / 2 + INNER_Y[1] * bh)
        owner[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = i
    rows, cols = np.nonzero((owner >= 0).any(axis=1))[0], np.nonzero((owner >= 0).any(axis=0))[0]
    if not len(rows):
        return moves
    y0, y1 = max(0, rows[0] - MARGIN), min(h, rows[-1] + 1 + MARGIN)
    x0, x1 = max(0, cols[0] - MARGIN), min(w, cols[-1] + 1 + MARGIN)
    before, after = prev[y0:y1, x0:x1], gray[y0:y1, x0:x1]
    mask = (owner[y0:y1, x0:x1] >= 0).astype(np.uint8)
    points = cv2.goodFeaturesToTrack(before, MAX_CORNERS, CORNER_QUALITY, CORNER_SPACING,
                                     mask=mask)
    if points is None or len(points) == 0:
        return moves
    ahead, ok, _ = cv2.calcOpticalFlowPyrLK(before, after, points, None, winSize=WINDOW,
                                            maxLevel=LEVELS)
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(after, before, ahead, None, winSize=WINDOW,
                                                maxLevel=LEVELS)
    start = points.reshape(-1, 2) + np.array([x0, y0], np.float32)
    ahead = ahead.reshape(-1, 2) + np.array([x0, y0], np.float32)
    back = back.reshape(-1, 2) + np.array([x0, y0], np.float32)
    good = (ok.reshape(-1) == 1) & (ok_back.reshape(-1) == 1)
    good &= np.linalg.norm(back - start, axis=1) < BACK_PX
    xs = np.clip(start[:, 0].astype(int), 0, w - 1)
    ys = np.clip(start[:, 1].astype(int), 0, h - 1)
    who = owner[ys, xs]
    shift = ahead - start
    for i in range(len(boxes)):
        mine = good & (who == i)
        if int(mine.sum()) >= MIN_POINTS:
            dx, dy = np.median(shift[mine], axis=0).tolist()
            moves[i] = (dx, dy)
    return moves
