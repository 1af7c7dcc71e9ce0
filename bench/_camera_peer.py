"""The peer to beat: supervision's ByteTrack + LineZone (bottom-centre anchor), on MOG2 blobs
or on OpenCV's HOG people detector. Only in the `bench` extra; never imported by the node.

Settings are the recipe's usual ones, the same for every clip (no per-clip tuning): MOG2 at
the clip's own resolution with a 3x3 open and a 7x7 close, blobs of at least 0.2 % of the
frame; HOG at 1.5x upscaling for clips under 480 px high (people there are under its 128-px
window). The direction of each LineZone crossing is taken from the anchor's side by our own
rule, so "in"/"out" mean exactly what they mean for the reference.
"""

import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sensors.camera.evaluate import Counter

MIN_AREA = 0.002


def _mog2_boxes(state: dict, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    if "mog2" not in state:
        state["mog2"] = cv2.createBackgroundSubtractorMOG2(500, 16, detectShadows=True)
        state["open"] = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        state["close"] = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    fg = state["mog2"].apply(frame)
    _, fg = cv2.threshold(fg, 200, 255, cv2.THRESH_BINARY)  # shadows (127) are not people
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, state["open"])
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, state["close"])
    contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    least = MIN_AREA * frame.shape[0] * frame.shape[1]
    boxes = [cv2.boundingRect(c) for c in contours if cv2.contourArea(c) >= least]
    xyxy = np.array([(x, y, x + w, y + h) for x, y, w, h in boxes], np.float32).reshape(-1, 4)
    return xyxy, np.full(len(xyxy), 0.9, np.float32)


def _hog_boxes(state: dict, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    if "hog" not in state:
        state["hog"] = cv2.HOGDescriptor()
        state["hog"].setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    scale = 1.5 if frame.shape[0] < 480 else 1.0
    img = cv2.resize(frame, None, fx=scale, fy=scale) if scale != 1.0 else frame
    rects, weights = state["hog"].detectMultiScale(img, winStride=(8, 8), padding=(8, 8),
                                                   scale=1.05)
    if len(rects) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    rects = np.asarray(rects, np.float32).reshape(-1, 4) / scale
    scores = np.asarray(weights, np.float32).reshape(-1)
    keep = np.asarray(cv2.dnn.NMSBoxes(rects.astype(int).tolist(), scores.tolist(), 0.0, 0.4),
                      np.int64).reshape(-1)
    rects, scores = rects[keep], scores[keep]
    xyxy = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
    return xyxy, np.clip(scores, 0.0, 1.0)


DETECTORS = {"mog2": _mog2_boxes, "hog": _hog_boxes}


def peer_counter(detector: str) -> "Counter":
    """A Counter (see sensors.camera.evaluate) running the supervision recipe."""

    def run(video: str, lines: tuple) -> tuple[list, float, tuple[int, int]]:
        events, fps, size, _ = run_peer(video, lines, detector)
        return events, fps, size

    return run


def run_peer(video: str, lines: tuple, detector: str) -> tuple[list, float, tuple, float]:
    """(events, fps, size, frames per second processed) for one clip."""
    import cv2
    import supervision as sv

    from sensors.camera.geometry import direction_of

    detect = DETECTORS[detector]
    cap = cv2.VideoCapture(video)
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if 1 <= fps <= 240 else 25.0
    tracker = sv.ByteTrack(frame_rate=fps, lost_track_buffer=int(fps))
    zones: list = []
    state: dict = {}
    events: list = []
    size = (0, 0)
    n, start = 0, time.perf_counter()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if not zones:
            h, w = frame.shape[:2]
            size = (w, h)
            for x1, y1, x2, y2 in lines:
                zones.append((sv.LineZone(sv.Point(x1 * w, y1 * h), sv.Point(x2 * w, y2 * h),
                                          triggering_anchors=[sv.Position.BOTTOM_CENTER]),
                              (x1 * w, y1 * h, x2 * w, y2 * h)))
        xyxy, conf = detect(state, frame)
        dets = sv.Detections(xyxy=xyxy, confidence=conf, class_id=np.zeros(len(xyxy), int))
        dets = tracker.update_with_detections(dets)
        anchors = dets.get_anchors_coordinates(sv.Position.BOTTOM_CENTER)
        for index, (zone, segment) in enumerate(zones):
            crossed_in, crossed_out = zone.trigger(dets)
            for k in np.flatnonzero(crossed_in | crossed_out):
                events.append((index, direction_of(segment, tuple(anchors[k])), n / fps))
        n += 1
    elapsed = time.perf_counter() - start
    cap.release()
    return events, fps, size, n / max(elapsed, 1e-9)
