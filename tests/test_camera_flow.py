"""Between detector calls (detect_every > 1) the person tracker moves each box by the optical
flow of its points (sensors/camera/flow.py): on a real TUD frame, behind someone, and a
walker too fast for a velocity guess from one box, counted on the frame it crosses."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from sensors.camera.flow import box_moves
from sensors.camera.geometry import CountLine
from sensors.camera.options import PipelineOptions
from sensors.camera.person_track import PersonTracker
from sensors.camera.pipeline import Pipeline
from tests.test_camera_detectors import bad_frames

DATA = Path(__file__).resolve().parent / "data" / "video"
FPS = 25.0
SIZE = (480, 360)


def _real_grey() -> np.ndarray:
    cap = cv2.VideoCapture(str(DATA / "TUD-Campus.mp4"))
    ok, frame = cap.read()
    cap.release()
    assert ok
    return cv2.cvtColor(cv2.resize(frame, SIZE), cv2.COLOR_BGR2GRAY)


def _shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]),
                          borderMode=cv2.BORDER_REFLECT)


def test_boxes_on_a_real_frame_move_with_the_picture() -> None:
    """People of the first TUD-Campus frame (ground-truth boxes, scaled): the picture moved
    by (5, 2) px, so does every box; a box on a flat wall says nothing."""
    gray = _real_grey()
    sx = SIZE[0] / 640
    boxes = []
    for row in (DATA / "TUD-Campus_gt.txt").read_text().splitlines():
        f, _i, left, top, w, h = (float(v) for v in row.split(",")[:6])
        if f == 1 and left > 20 and left + w < 620:
            boxes.append(((left + w / 2) * sx, (top + h / 2) * sx, w * sx, h * sx))
    assert len(boxes) >= 4
    moves = box_moves(gray, _shifted(gray, 5.0, 2.0), boxes)
    found = [m for m in moves if m is not None]
    assert len(found) >= len(boxes) - 1  # a person fully behind another may say nothing
    for dx, dy in found:
        assert dx == pytest.approx(5.0, abs=0.5) and dy == pytest.approx(2.0, abs=0.5)
    flat = np.full(SIZE[::-1], 128, np.uint8)
    assert box_moves(flat, flat, boxes[:1]) == [None]


def test_a_walker_hidden_behind_another_takes_none_of_their_points() -> None:
    """Where boxes overlap the points belong to the person in front (foot lower on the
    picture): a box wholly behind gets no move and keeps its velocity instead."""
    rng = np.random.default_rng(1)
    texture = cv2.GaussianBlur(rng.integers(0, 256, SIZE[::-1], dtype=np.uint8), (5, 5), 0)
    front = (240.0, 200.0, 80.0, 240.0)  # foot at 320
    behind = (240.0, 170.0, 50.0, 150.0)  # foot at 245, inside the front box
    moves = box_moves(texture, _shifted(texture, -4.0, 0.0), [behind, front])
    assert moves[0] is None
    assert moves[1] == pytest.approx((-4.0, 0.0), abs=0.3)


class PlacedDetector:
    """The pipeline's detector seam: returns the box the test placed for this frame."""

    def __init__(self) -> None:
        self.box = np.zeros((0, 4), np.float32)
        self.weak = np.zeros((0, 4), np.float32)
        self.calls = 0

    def detect(self, gray: np.ndarray, color: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.box

    def reset(self) -> None:
        pass


def _scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    floor = cv2.GaussianBlur(rng.integers(60, 200, (SIZE[1], SIZE[0], 3), dtype=np.uint8),
                             (7, 7), 0)
    coat = cv2.GaussianBlur(rng.integers(0, 256, (90, 30, 3), dtype=np.uint8), (3, 3), 0)
    return floor, coat


def _count_fast_walker(every: int, frames: list | None = None) -> tuple[Pipeline, list]:
    """A textured walker 30 px wide crossing x = 240 at 9 px a frame (more than a body
    width between two detector calls 4 frames apart), detected on every `every`th frame."""
    rng = np.random.default_rng(2)
    floor, coat = _scene(rng)
    options = PipelineOptions(lines=(CountLine("l", 0.5, 0.0, 0.5, 1.0),), detector="motion",
                              process_width=SIZE[0], detect_every=every)
    pipeline = Pipeline(options, SIZE, FPS)
    detector = PlacedDetector()
    pipeline.detector, pipeline.kind = detector, "ssdlite"
    pipeline.tracker = PersonTracker(options.min_hits, options.max_missed_s)
    events = []
    for n in range(40):
        x = 60 + 9 * n
        image = floor.copy()
        image[150:240, x:x + 30] = coat
        detector.box = np.array([[x, 150, 30, 90]], np.float32)
        frame = image if frames is None or n not in frames else frames[n]
        events += [(e.time * FPS, e.direction) for e in pipeline.process(frame, n / FPS)]
    return pipeline, events


def test_between_detections_a_fast_walker_is_followed_and_counted_when_it_crosses() -> None:
    """Old code: the track predicted on a velocity of zero (one box) is more than a body
    width off at the next call, a second track starts, neither is confirmed: nothing
    counted. Following the flow, the track is where the walker is; it counts once, timed
    at the frame its foot went over x = 240 (75 + 9 n = 240: frame 18.3), not at a
    detector call."""
    pipeline, events = _count_fast_walker(every=4)
    assert pipeline.counts == [{"in": 1, "out": 0}]
    [(frame, _d)] = events
    assert frame == pytest.approx(18.3, abs=1)
    assert pipeline.detector.calls == 10


def test_damaged_frames_between_detections_do_no_harm() -> None:
    """Black, white, garbage, empty, one-channel and resized frames between detector calls:
    the flow says nothing for them, nothing breaks, nobody is counted twice."""
    bad = bad_frames()
    frames = {n: bad[k] for k, n in enumerate(range(1, 40, 3)) if k < len(bad)}
    pipeline, _events = _count_fast_walker(every=3, frames=frames)
    assert pipeline.counts[0]["out"] == 0 and pipeline.counts[0]["in"] <= 1
    assert all(np.isfinite(t.box).all() for t in pipeline.tracker.tracks)
    pipeline.reset()
    assert pipeline.tracker._gray is None


def test_every_frame_is_not_followed() -> None:
    """detect_every 1: no flow (the offline default is unchanged)."""
    pipeline, events = _count_fast_walker(every=1)
    assert pipeline.tracker._gray is None
    assert pipeline.counts == [{"in": 1, "out": 0}] and len(events) == 1

