"""Self-calibration: one person's size on the image as a function of the image row.

The node watches what it tracks: a confirmed track that is alone (no other track near it),
clear of the picture's edges and walking steadily is, in a walkway, nearly always one
person. Its box size and foot row are sampled (at most every SAMPLE_EVERY_S per track, so a
slow walker does not outweigh the rest), and a straight line size(row) is fitted to the
median size in bands of rows: perspective makes people smaller further away, and a camera
looking straight down sees the same size everywhere (slope ~ 0). The fit is refreshed as
samples arrive and the oldest samples drop out (MAX_SAMPLES), so it follows a camera that
was nudged. Configured `person_size`/`far_scale` override it.

Only sizes and rows are kept (numbers, no pixels): nothing here can show who walked by.
"""

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from sensors.camera.detect import UPRIGHT_ASPECT

MIN_SAMPLES = 40
MIN_TRACKS = 3
MAX_SAMPLES = 2000
SAMPLE_EVERY_S = 0.2
BANDS = 6
MIN_IN_BAND = 4
# Steady walking: at least this many body heights per second, and a track this old.
MIN_SPEED_H = 0.15
MIN_AGE_HITS = 5
ISOLATION = 0.6  # another track's box within this many widths: not alone
EDGE = 0.02  # boxes within this fraction of the frame's edge are cut by it
FAR_LIMITS = (0.15, 1.0)
# Blobs of one person are more often cut (legs apart from the torso, a dark coat on a dark
# floor) than grown: a person's size is taken a little above the median.
SIZE_PERCENTILE = 65  # size at the top edge relative to the bottom edge
# A band of rows whose person is more than this many times as tall for its width as the
# median band's holds merged blobs of people one behind another: left out of the far scale.
ASPECT_SPREAD = 1.15


@dataclass(frozen=True)
class SizeFit:
    """Person (width, height) at the bottom edge, normalised, and the top/bottom ratio."""

    size: tuple[float, float]
    far_scale: float
    samples: int
    tracks: int
    rows: tuple[float, float]  # the band of foot rows the samples came from (0..1)
    # d(height)/d(foot row), both normalised to the frame's height: about a person's height
    # over the camera's (pinhole camera, level axis). Eye level ~ 1, a camera two body
    # heights up ~ 0.5, tilted down or straight down ~ 0. 0 when rows were too few.
    slope: float = 0.0

    def at(self, foot_y: float) -> tuple[float, float]:
        """Normalised (width, height) of one person whose foot is at row `foot_y` (0..1)."""
        scale = self.far_scale + (1.0 - self.far_scale) * min(1.0, max(0.0, foot_y))
        return self.size[0] * scale, self.size[1] * scale


class PersonSizeModel:
    def __init__(self) -> None:
        self.samples: deque[tuple[float, float, float, int]] = deque(maxlen=MAX_SAMPLES)
        self.last: dict[int, float] = {}
        self.fit: SizeFit | None = None
        self._since_fit = 0

    def warm_start(self, samples: list[tuple[float, float, float, int]]) -> None:
        """Begin from samples learnt earlier on the same view (e.g. an offline first pass);
        track ids are made negative so they never collide with this run's."""
        self.samples.extend((y, w, h, -1 - abs(tid)) for y, w, h, tid in samples)
        self.fit = fit_sizes(list(self.samples))

    def observe(self, tracks: list, size: tuple[int, int], now: float) -> None:
        """Sample the tracks (track.Track, in processing pixels of `size`) seen this frame."""
        pw, ph = size
        live = [t for t in tracks if t.updated]
        boxes = np.array([(t.cx, t.cy, t.w, t.h) for t in live]).reshape(-1, 4)
        for i, t in enumerate(live):
            recent = now - self.last.get(t.id, -1e9) < SAMPLE_EVERY_S
            if not t.confirmed or t.hits < MIN_AGE_HITS or recent:
                continue
            if math.hypot(t.vx, t.vy) < MIN_SPEED_H * t.h:
                continue
            x0, y0, x1, y1 = t.cx - t.w / 2, t.cy - t.h / 2, t.cx + t.w / 2, t.cy + t.h / 2
            if x0 < EDGE * pw or y0 < EDGE * ph or x1 > (1 - EDGE) * pw or y1 > (1 - EDGE) * ph:
                continue
            others = np.delete(boxes, i, axis=0)
            if len(others):
                gap_x = np.abs(others[:, 0] - t.cx) - (others[:, 2] + t.w) / 2
                gap_y = np.abs(others[:, 1] - t.cy) - (others[:, 3] + t.h) / 2
                if np.any((gap_x < ISOLATION * t.w) & (gap_y < ISOLATION * t.h)):
                    continue
            self.last[t.id] = now
            self.samples.append((y1 / ph, t.w / pw, t.h / ph, t.id))
            self._since_fit += 1
        # Only the tracks alive now (ids are never reused): it kept up to 8000 tracks long
        # gone, built up over a day and cut to 2000 at once (looked at for the camera edge's
        # rise in the soak, issue 18; not its cause, but state no one reads again).
        if len(self.last) > len(tracks):
            alive = {t.id for t in tracks}
            self.last = {tid: at for tid, at in self.last.items() if tid in alive}
        if self._since_fit >= (4 if self.fit is None else 20):
            self._since_fit = 0
            self.fit = fit_sizes(list(self.samples)) or self.fit


def fit_sizes(samples: list[tuple[float, float, float, int]]) -> SizeFit | None:
    """A size(row) line through per-band medians, or None with too few samples or tracks."""
    if len(samples) < MIN_SAMPLES or len({s[3] for s in samples}) < MIN_TRACKS:
        return None
    data = np.array([s[:3] for s in samples])
    rows, widths, heights = data[:, 0], data[:, 1], data[:, 2]
    lo, hi = np.percentile(rows, [5, 95])
    edges = np.linspace(lo, hi + 1e-6, BANDS + 1)
    ys, ws, hs, ns = [], [], [], []
    for a, b in zip(edges, edges[1:], strict=False):
        m = (rows >= a) & (rows < b)
        if m.sum() >= MIN_IN_BAND:
            ys.append(float(np.median(rows[m])))
            ws.append(float(np.percentile(widths[m], SIZE_PERCENTILE)))
            hs.append(float(np.percentile(heights[m], SIZE_PERCENTILE)))
            ns.append(float(m.sum()))
    if not ys:
        return None
    if len(ys) >= 2 and hi - lo > 0.15:
        # Height grows with the row under perspective: fit h = c * (f + (1 - f) * y).
        # A band whose boxes are much taller for their width than the others' holds
        # merged blobs of people one behind another (groups walking in file): one
        # person's shape is the same at every row, so such a band is left out of the line.
        aspect = np.array(hs) / np.maximum(np.array(ws), 1e-9)
        keep = aspect <= ASPECT_SPREAD * float(np.median(aspect))
        if keep.sum() < 2 or float(np.median(aspect)) < UPRIGHT_ASPECT:
            keep[:] = True
        slope, icept = np.polyfit(np.array(ys)[keep], np.array(hs)[keep], 1,
                                  w=np.sqrt(np.array(ns)[keep]))
        bottom = float(slope + icept)
        top = float(icept)
        far = top / bottom if bottom > 0 else 1.0
        far = float(min(FAR_LIMITS[1], max(FAR_LIMITS[0], far)))
    else:
        far = 1.0
    # Scale each band's median to the bottom edge with that ratio and take the median.
    scale = np.array([far + (1 - far) * y for y in ys])
    w_bottom = float(np.median(np.array(ws) / scale))
    h_bottom = float(np.median(np.array(hs) / scale))
    return SizeFit((w_bottom, h_bottom), far, len(samples), len({s[3] for s in samples}),
                   (float(lo), float(hi)), row_slope(rows, heights))


SLOPE_SAMPLES = 120
SLOPE_MIN_DY = 0.05


def row_slope(rows: np.ndarray, heights: np.ndarray) -> float:
    """Theil-Sen slope of height against foot row: the median of the slopes between pairs of
    samples at least SLOPE_MIN_DY apart. A median, because blobs grown by floor
    reflections or merged with a neighbour are common and a least-squares line follows
    them. At most SLOPE_SAMPLES samples (evenly picked) keep it cheap."""
    pick = np.linspace(0, len(rows) - 1, min(len(rows), SLOPE_SAMPLES)).astype(int)
    y, h = rows[pick], heights[pick]
    dy = y[:, None] - y[None, :]
    dh = h[:, None] - h[None, :]
    apart = dy > SLOPE_MIN_DY
    return float(np.median(dh[apart] / dy[apart])) if apart.any() else 0.0
