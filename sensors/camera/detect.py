"""Detectors: frame -> person boxes (x, y, w, h) in processing-frame pixels, as an (N, 4) array.

Pluggable by name: "motion" (background subtraction + blobs; high or overhead mounts),
"hog" (OpenCV's people detector), "dnn" (an SSD-style model cv2.dnn loads from a local path;
nothing is downloaded). Imported only by the pipeline, never by config validation.
"""

import itertools
from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from sensors.camera.background import make_background
from sensors.camera.options import PipelineOptions
from sensors.camera.shadow import ShadowFilter
from walkway.errors import InputFileError, UsageError

# A blob whose foreground covers more of the frame than this is a lighting jump or a lens
# event, not people: the background is re-learnt instead of tracking a giant blob.
LIGHTING_JUMP_FRACTION = 0.35
EDGE_AREA = 0.3  # blobs cut by the picture's edge may be this much smaller
GROUP_PITCH = 1.4  # centre-to-centre distance of people walking together, in body widths
GROUP_AREA = 1.8  # a blob under this many person boxes is one person, whatever its shape
# People this many times as tall as wide on the image are seen upright; one standing behind
# another then adds this share of a person's height to their blob per person.
UPRIGHT_ASPECT = 2.0
DEPTH_PITCH = 0.7
# A blob reaching the picture's top edge is cut by it, so this share of a person's height
# is added to what it holds beyond one person before DEPTH_PITCH divides it. One person
# whose box reaches the top edge is cut, no taller than their own height at their foot row;
# a blob that reaches it and is 1.1 times that height holds someone farther away above
# them, their legs in the picture and the rest above it (people walking in file across the
# far end of the view).
TOP_CUT = 0.25
CLOSE_AT_160 = 7
# Pieces of one person cut apart by something in front of them (a lamp post, a sign, a
# railing): blobs each under JOIN_PIECE of a person's box at their own foot row, beside each
# other at the same rows or one above the other in the same columns (JOIN_SHARE of the
# smaller's extent shared), whose joint box is at most JOIN_SIZE person widths and heights
# at its foot row, are one blob. The closing kernel joins small gaps only.
JOIN_PIECE = 0.6
JOIN_SIZE = (1.3, 1.2)
JOIN_SHARE = 0.5
AUTO_MIN_AREA = 0.001  # min_area = 0 (auto): this fraction of the frame until sizes are learnt
PERSON_AREA_FRACTION = 0.25  # then: blobs under this part of one person's box are noise


class Detector(Protocol):
    def detect(self, gray: np.ndarray, color: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


def split_blob(mask: np.ndarray, box: tuple[int, int, int, int], nx: int, ny: int) -> list:
    """Cut a merged blob into nx*ny boxes at equal quantiles of its foreground mass.

    Side-by-side walkers merge into one wide blob; cutting where the cumulative pixel count
    reaches k/n puts each cut in the gap between bodies rather than at the box's middle.
    """
    x, y, w, h = box
    sub = mask[y : y + h, x : x + w] > 0
    xcuts = _cuts(sub.sum(axis=0), nx)
    ycuts = _cuts(sub.sum(axis=1), ny)
    boxes = []
    for x0, x1 in zip(xcuts, xcuts[1:], strict=False):
        for y0, y1 in zip(ycuts, ycuts[1:], strict=False):
            part = sub[y0:y1, x0:x1]
            if not part.any():
                continue
            cols = np.flatnonzero(part.any(axis=0))
            rows = np.flatnonzero(part.any(axis=1))
            boxes.append(
                (x + x0 + cols[0], y + y0 + rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)
            )
    return boxes


def _cuts(mass: np.ndarray, n: int) -> list[int]:
    if n <= 1:
        return [0, len(mass)]
    cum = np.cumsum(mass)
    total = cum[-1] if len(cum) else 0
    inner = [int(np.searchsorted(cum, total * k / n)) for k in range(1, n)]
    return [0, *sorted(set(inner)), len(mass)]


class MotionDetector:
    """Background subtraction on a gain-normalised grey frame, then blobs (external contours).

    Gain normalisation: the frame is scaled so its mean follows a slow average, so lights
    dimming or a cloud passing do not turn the whole floor into foreground.
    """

    def __init__(self, options: PipelineOptions, size: tuple[int, int], fps: float) -> None:
        self.options = options
        self.width, self.height = size
        self.fps = fps
        # One person's (width, height) in pixels at a foot row in pixels, or None while the
        # size is neither configured nor learnt (the pipeline sets it).
        self.person_at: Callable[[float], tuple[float, float] | None] = lambda _y: None
        self.min_area = max(4.0, (options.min_area or AUTO_MIN_AREA) * self.width * self.height)
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        # Until the person size is known: 7 pixels at 160 wide, in proportion above.
        self.set_close(round(CLOSE_AT_160 * self.width / 160))
        self.reset()

    def set_close(self, size: int) -> None:
        """The closing kernel that joins a person's pieces (legs, torso, head) into one blob:
        a fraction of a person's width, so it scales with resolution and distance."""
        size = max(3, min(15, size | 1))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))

    def resize(self, size: tuple[int, int]) -> None:
        """Work at a new processing size, keeping the learnt empty scene (resampled)."""
        self.width, self.height = size
        self.min_area = max(4.0, (self.options.min_area or AUTO_MIN_AREA) * size[0] * size[1])
        self.set_close(round(CLOSE_AT_160 * self.width / 160))
        mean = getattr(self.bg, "mean", None)
        ref, shadows = self.ref_mean, self.shadows
        self.reset()
        self.ref_mean, self.shadows = ref, shadows
        shadows.resize(size)
        if mean is not None:
            self.bg.seed([cv2.resize(mean, size, interpolation=cv2.INTER_AREA)])

    def reset(self) -> None:
        o = self.options
        self.bg = make_background(o.background, self.fps, o.background_seconds, o.var_threshold)
        self.shadows = ShadowFilter(self.fps, o.background_seconds)
        self.ref_mean: float | None = None
        self.gain = 1.0
        self.last_mask: np.ndarray | None = None

    def _normalise(self, gray: np.ndarray) -> np.ndarray:
        mean = float(cv2.mean(gray)[0]) or 1.0
        if self.ref_mean is None:
            self.ref_mean = mean
        # Follow the scene's brightness over about the background's memory.
        rate = 1.0 / max(1.0, self.options.background_seconds * self.fps)
        self.ref_mean += (mean - self.ref_mean) * rate
        gain = self.ref_mean / mean
        if abs(gain - 1.0) < 0.01:
            self.gain = 1.0
            return gray
        self.gain = gain
        return cv2.convertScaleAbs(gray, alpha=gain)

    def detect(self, gray: np.ndarray, color: np.ndarray) -> np.ndarray:
        fg = self.bg.apply(self._normalise(gray))
        if fg is None:
            return np.zeros((0, 4), np.float32)
        if color.ndim == 3:
            fg = self.shadows.apply(color, fg, self.gain)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._open)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._close)
        self.last_mask = fg
        if cv2.countNonZero(fg) > LIGHTING_JUMP_FRACTION * self.width * self.height:
            self.reset()
            return np.zeros((0, 4), np.float32)
        # External contours: several times cheaper than labelling every pixel.
        contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        blobs = self._join([(cv2.boundingRect(c), cv2.contourArea(c)) for c in contours])
        boxes: list = []
        for (x, y, w, h), area in blobs:
            # A person leaving or entering the picture is cut by its edge: a smaller blob
            # there is still a person, and the one whose crossing a line near the edge ends.
            edge = x == 0 or y == 0 or x + w == self.width or y + h == self.height
            least = self._least_area(y + h) * (EDGE_AREA if edge else 1.0)
            if w * h < least or area < least * 0.5:
                continue
            nx, ny = self._people_in(x, y, w, h)
            if nx * ny == 1:
                boxes.append((x, y, w, h))
                continue
            # Slivers left over by a cut are not people; they would start ghost tracks.
            pieces = split_blob(fg, (x, y, w, h), nx, ny)
            boxes.extend(p for p in pieces if p[2] * p[3] >= self.min_area and p[3] >= h / ny / 2)
        return np.asarray(boxes, np.float32).reshape(-1, 4)

    def _join(self, blobs: list) -> list:
        """Blobs ((x, y, w, h), pixel area) with the pieces of one person joined (JOIN_PIECE).

        Upright views only: there a person's box has a shape (tall, narrow) that pieces of
        two neighbours rarely fit together into; seen from above or steeply, a joint box of
        two neighbours' pieces is as compact as one person."""
        person = self.person_at(self.height)
        if person is None or person[1] < UPRIGHT_ASPECT * person[0] or len(blobs) < 2:
            return blobs
        pieces, rest = [], []
        for blob in blobs:
            (pieces if self._piece(blob[0]) else rest).append(blob)
        if len(pieces) < 2:
            return blobs
        joined = True
        while joined:
            joined = False
            for i, j in itertools.combinations(range(len(pieces)), 2):
                box = self._joint(pieces[i][0], pieces[j][0])
                if box is not None:
                    pieces[i] = (box, pieces[i][1] + pieces[j][1])
                    del pieces[j]
                    joined = True
                    break
        return rest + pieces

    def _joint(self, a: tuple, b: tuple) -> tuple | None:
        """The joint box of two pieces if they are one person's (JOIN_SHARE, JOIN_SIZE)."""
        x0, y0 = min(a[0], b[0]), min(a[1], b[1])
        x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
        pw, ph = self.person_at(y1) or (0.0, 0.0)
        share_x = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
        share_y = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
        aligned = share_x >= JOIN_SHARE * min(a[2], b[2]) or share_y >= JOIN_SHARE * min(a[3], b[3])
        if aligned and x1 - x0 <= JOIN_SIZE[0] * pw and y1 - y0 <= JOIN_SIZE[1] * ph:
            return (x0, y0, x1 - x0, y1 - y0)
        return None

    def _piece(self, box: tuple[int, int, int, int]) -> bool:
        """Clearly less than one person at its foot row: a part of one, if anyone."""
        x, y, w, h = box
        pw, ph = self.person_at(y + h) or (0.0, 0.0)
        return w * h < JOIN_PIECE * pw * ph

    def _least_area(self, foot_y: float) -> float:
        """Smallest blob kept: configured, else a fraction of one person at that row."""
        person = self.person_at(foot_y)
        if self.options.min_area or person is None:
            return self.min_area
        return max(4.0, PERSON_AREA_FRACTION * person[0] * person[1])

    def _people_in(self, x: int, y: int, w: int, h: int) -> tuple[int, int]:
        """How many people wide and deep a blob is, from the expected size at its foot."""
        person = self.person_at(y + h)
        if person is None:
            return 1, 1
        pw, ph = person
        if ph >= UPRIGHT_ASPECT * pw:
            # Upright people (a camera looking ahead, not down): nobody lies on their side,
            # so a blob clearly taller than one person at its foot row is people one behind
            # another (a group walking abreast across the picture), however narrow it is.
            nx = 1 + max(0, round((w / pw - 1.0) / GROUP_PITCH))
            hidden = TOP_CUT if y == 0 else 0.0
            ny = 1 + max(0, round((h / ph - 1.0 + hidden) / DEPTH_PITCH))
            return min(nx, 6), min(ny, 4)
        if w * h < GROUP_AREA * pw * ph:
            # Seen from above, a person walking across the picture has the box of one
            # walking along it turned by 90 degrees: same area, so still one person.
            return 1, 1
        # People side by side keep about 1.4 body widths between centres, so n of them span
        # 1 + 1.4 (n - 1) widths; a lone person seen a bit large stays one.
        nx = 1 + max(0, round((w / pw - 1.0) / GROUP_PITCH))
        ny = 1 + max(0, round((h / ph - 1.0) / GROUP_PITCH))
        return min(nx, 6), min(ny, 6)


class HogDetector:
    """OpenCV's HOG people detector (upright people of at least 64x128 pixels)."""

    def __init__(self, options: PipelineOptions) -> None:
        if not hasattr(cv2, "HOGDescriptor"):
            # OpenCV 5 moved HOG out of the main package (to the contrib modules).
            raise UsageError(
                f"detector hog: this OpenCV ({cv2.__version__}) has no HOG people detector; "
                "use detector \"dnn\" with a local model file, or \"motion\""
            )
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def reset(self) -> None:
        return None

    def detect(self, gray: np.ndarray, color: np.ndarray) -> np.ndarray:
        rects, weights = self.hog.detectMultiScale(
            gray, winStride=(8, 8), padding=(8, 8), scale=1.08
        )
        if len(rects) == 0:
            return np.zeros((0, 4), np.float32)
        return nms(np.asarray(rects, np.float32), np.asarray(weights, np.float32), 0.3, 0.4)


def nms(boxes: np.ndarray, scores: np.ndarray, least: float, iou: float) -> np.ndarray:
    """The (x, y, w, h) boxes non-maximum suppression keeps, as an (N, 4) float32 array."""
    boxes = boxes.reshape(-1, 4)
    scores = scores.reshape(-1)
    keep = cv2.dnn.NMSBoxes(boxes.astype(int).tolist(), scores.tolist(), least, iou)
    # NMS keeping nothing returns an empty tuple (a float array once converted).
    return boxes[np.asarray(keep, np.int64).reshape(-1)].astype(np.float32)


def parse_ssd(out: np.ndarray, klass: int, confidence: float, w: int, h: int) -> np.ndarray:
    """Boxes from an SSD DetectionOutput blob: rows of (image, class, score, x1, y1, x2, y2)."""
    rows = out.reshape(-1, 7)
    rows = rows[(rows[:, 1] == klass) & (rows[:, 2] >= confidence)]
    x1 = np.clip(rows[:, 3], 0, 1) * w
    y1 = np.clip(rows[:, 4], 0, 1) * h
    x2 = np.clip(rows[:, 5], 0, 1) * w
    y2 = np.clip(rows[:, 6], 0, 1) * h
    boxes = np.stack([x1, y1, x2 - x1, y2 - y1], axis=1).astype(np.float32)
    return boxes[(boxes[:, 2] > 1) & (boxes[:, 3] > 1)]


class DnnDetector:
    """An SSD-style person detector loaded by cv2.dnn from local files (e.g. MobileNet-SSD)."""

    def __init__(self, options: PipelineOptions) -> None:
        model = str(options.model)
        config = str(options.model_config) if options.model_config else ""
        try:
            self.net = cv2.dnn.readNet(model, config)
        except cv2.error as exc:
            first = str(exc).strip().splitlines()[-1][:160]
            raise InputFileError(f"{model}: cv2.dnn cannot load this model ({first})") from exc
        self.options = options

    def reset(self) -> None:
        return None

    def detect(self, gray: np.ndarray, color: np.ndarray) -> np.ndarray:
        size = self.options.model_input
        blob = cv2.dnn.blobFromImage(color, 1 / 127.5, (size, size), (127.5,) * 3, swapRB=True)
        self.net.setInput(blob)
        h, w = color.shape[:2]
        opts = self.options
        return parse_ssd(self.net.forward(), opts.model_class, opts.model_confidence, w, h)


def make_detector(options: PipelineOptions, size: tuple[int, int], fps: float) -> Detector:
    if options.detector == "hog":
        return HogDetector(options)
    if options.detector == "dnn":
        return DnnDetector(options)
    if options.detector == "ssdlite":
        from sensors.camera.ssdlite import SsdliteDetector

        return SsdliteDetector(options)
    return MotionDetector(options, size, fps)  # "motion", and "auto" until it has learnt
