"""Frame -> crossings: resize, region-of-interest mask, detector, tracker, line counters.

Works on a small copy of each frame (`process_width`, 160 px for the motion detector) so a
Pi-class core keeps up with the camera; lines and dead-bands are scaled to that size.
Beyond the current frame, only the background model is kept (a small grey average, plus
the first 1.5 s of small grey frames while it is learnt), in memory; nothing is written.
"""

import math
from collections.abc import Sequence

import cv2
import numpy as np

from sensors.camera.count import Crossing, LineCounter
from sensors.camera.detect import make_detector
from sensors.camera.options import PipelineOptions
from sensors.camera.track import Tracker


def process_size(options: PipelineOptions, width: int, height: int) -> tuple[int, int]:
    pw = options.process_width or (160 if options.detector == "motion" else 480)
    pw = min(pw, width)
    return pw, max(1, round(height * pw / width))


# A second count of the same line and direction within this time, by a track whose foot is
# within this many body widths of the first track's, is one person seen by two tracks.
DUPLICATE_S = 2.0
DUPLICATE_WIDTHS = 0.5


class Pipeline:
    """Counts crossings of `options.lines` in frames of `frame_size` (width, height)."""

    def __init__(self, options: PipelineOptions, frame_size: tuple[int, int], fps: float):
        self.options = options
        self.frame_size = frame_size
        self.size = process_size(options, *frame_size)
        pw, ph = self.size
        self.detector = make_detector(options, self.size, fps)
        self.tracker = Tracker(options.min_hits, options.max_missed_s)
        band = options.deadband * ph
        self.counters = [
            LineCounter(i, ln.scaled(pw, ph), band) for i, ln in enumerate(options.lines)
        ]
        self.mask = self._roi_mask(options.roi) if options.roi else None
        self.pending: dict[int, list[Crossing]] = {}
        self.counts = [{"in": 0, "out": 0} for _ in options.lines]
        self.frames = 0
        self.recent: list[tuple[float, int, str, int]] = []

    def _roi_mask(self, roi: Sequence[tuple[float, float]]) -> np.ndarray:
        pw, ph = self.size
        mask = np.zeros((ph, pw), np.uint8)
        pts = np.asarray([(x * pw, y * ph) for x, y in roi], np.int32)
        cv2.fillPoly(mask, [pts], 255)
        return mask

    def prepare(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The small colour frame and its grey version (ROI applied), for health and detection."""
        if (frame.shape[1], frame.shape[0]) != self.size:
            # Bilinear, not area: a third of the cost, and blobs of people do not need more.
            small = cv2.resize(frame, self.size, interpolation=cv2.INTER_LINEAR)
        else:
            small = frame
        gray = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        if self.mask is not None:
            gray = cv2.bitwise_and(gray, self.mask)
        return small, gray

    def seed_background(self, frames: Sequence[np.ndarray]) -> None:
        """Offline only: learn the empty scene from frames spread over the whole video, so
        people present in the first seconds are counted too (motion detector only)."""
        bg = getattr(self.detector, "bg", None)
        if bg is not None and frames:
            bg.seed([self.prepare(f)[1] for f in frames])

    def reset(self) -> None:
        """Forget the background and every track (after a covered lens or a reconnect)."""
        self.detector.reset()
        self.tracker.reset()
        self.pending.clear()
        for counter in self.counters:
            counter.states.clear()

    def process(self, frame: np.ndarray, now: float) -> list[Crossing]:
        if self.frames % self.options.detect_every:
            # Not a detection frame: do not even shrink it; tracks move on their velocity.
            self.frames += 1
            self.tracker.predict(now)
            return []
        small, gray = self.prepare(frame)
        return self.process_prepared(small, gray, now)

    def process_prepared(self, small: np.ndarray, gray: np.ndarray, now: float) -> list[Crossing]:
        self.frames += 1
        if (self.frames - 1) % self.options.detect_every == 0:
            boxes = self.detector.detect(gray, small)
            if self.mask is not None and len(boxes) and self.options.detector != "motion":
                boxes = self._inside_roi(boxes)
            dead = self.tracker.update(boxes, now)
        else:
            self.tracker.predict(now)
            dead = []
        events: list[Crossing] = []
        for track in self.tracker.tracks:
            if not track.updated:
                continue
            for counter in self.counters:
                event = counter.update(track.id, track.foot, now)
                if event is None:
                    continue
                if track.confirmed:
                    events.append(event)
                else:
                    # Held until the track is confirmed, so a person first seen at the frame
                    # edge right before the line still counts, and noise never does.
                    self.pending.setdefault(track.id, []).append(event)
            if track.confirmed and track.id in self.pending:
                events.extend(self.pending.pop(track.id))
        for track in dead:
            self.pending.pop(track.id, None)
            for counter in self.counters:
                counter.forget(track.id)
        events = [e for e in events if not self._duplicate(e, now)]
        for event in events:
            self.counts[event.line][event.direction] += 1
        return events

    def _inside_roi(self, boxes: np.ndarray) -> np.ndarray:
        """Person detectors see the whole picture: keep people whose feet are in the ROI."""
        assert self.mask is not None
        ph, pw = self.mask.shape
        fx = np.clip((boxes[:, 0] + boxes[:, 2] / 2).astype(int), 0, pw - 1)
        fy = np.clip((boxes[:, 1] + boxes[:, 3]).astype(int), 0, ph - 1)
        return boxes[self.mask[fy, fx] > 0]

    def _person_width(self, foot_y: float, measured: float) -> float:
        """A person's width at this height on the image: configured, else as measured."""
        size = self.options.person_size
        if size is None:
            return measured
        far = self.options.far_scale
        scale = far + (1.0 - far) * foot_y / self.size[1]
        return min(measured, size[0] * self.size[0] * scale)

    def _duplicate(self, event: Crossing, now: float) -> bool:
        """True when another track just counted the same person (one body, two tracks).

        Two tracks on one body move together: their feet are still closer than half a
        body width now. People walking side by side or one behind another are not.
        """
        alive = {t.id: t for t in self.tracker.tracks}
        track = alive[event.track]
        width = self._person_width(track.foot[1], track.w)
        self.recent = [r for r in self.recent if now - r[0] <= DUPLICATE_S and r[3] in alive]
        for _t, line, direction, other in self.recent:
            if line == event.line and direction == event.direction:
                fx, fy = alive[other].foot
                if math.hypot(track.foot[0] - fx, track.foot[1] - fy) < DUPLICATE_WIDTHS * width:
                    return True
        self.recent.append((now, event.line, event.direction, event.track))
        return False
