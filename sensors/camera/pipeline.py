"""Frame -> crossings: resize, region-of-interest mask, detector, tracker, line counters.

Works on a small copy of each frame (`process_width`, 160 px for the motion detector) so a
Pi-class core keeps up with the camera; lines and dead-bands are scaled to that size.
Beyond the current frame, only the background model is kept (a small grey average, plus
the first 1.5 s of small grey frames while it is learnt) and, with ssdlite, a colour
histogram per live track (person_track.py; no picture), in memory; nothing is written.
"""

import math
import time
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from sensors.camera.autosize import PersonSizeModel, SizeFit
from sensors.camera.count import Crossing, LineCounter
from sensors.camera.detect import make_detector
from sensors.camera.options import PipelineOptions
from sensors.camera.person_track import PersonTracker
from sensors.camera.track import Tracker

# process_width = 0 (auto): the motion detector starts at START_WIDTH and, once it has learnt
# the person size, settles on the width where the smallest person it sees is MIN_PERSON_PX
# tall (LEAST_WIDTH to MOST_WIDTH): small far-away people need more pixels, big near ones
# fewer, and fewer pixels are faster.
START_WIDTH = 160
LEAST_WIDTH = 160
MOST_WIDTH = 480
MIN_PERSON_PX = 24
# detector = "auto": the motion detector until the geometry is learnt; then, when people's
# height on the image grows with their foot row at least this fast (a camera lower than
# about 1.7 body heights, ~3 m: people walking in file hide each other and their blobs
# merge), the ssdlite person detector at DNN_WIDTH, if its wheel is installed.
EYE_LEVEL_SLOPE = 0.6
DNN_WIDTH = 480
# detect_every = 0 (auto) on a live source: the detector may take this share of the frame
# interval on average (the rest of the core decodes, checks the picture and runs the edge
# daemon), so N = ceil(detector seconds x fps / DETECT_SHARE), at most MAX_EVERY. The
# detector's time is smoothed over calls at DETECT_RATE.
DETECT_SHARE = 0.5
MAX_EVERY = 30
DETECT_RATE = 0.1


def process_size(options: PipelineOptions, width: int, height: int) -> tuple[int, int]:
    motion = options.detector in ("motion", "auto")
    pw = options.process_width or (START_WIDTH if motion else DNN_WIDTH)
    return _scaled_size(min(pw, width), width, height)


def _scaled_size(pw: int, width: int, height: int) -> tuple[int, int]:
    return pw, max(1, round(height * pw / width))


def usable_frame(frame: np.ndarray | None, size: tuple[int, int]) -> np.ndarray:
    """A 3-channel uint8 frame: black of `size` when there is nothing usable in `frame`."""
    if frame is None or frame.size == 0 or frame.ndim not in (2, 3) or min(frame.shape[:2]) < 2:
        return np.zeros((size[1], size[0], 3), np.uint8)
    if frame.dtype != np.uint8:
        frame = np.clip(np.nan_to_num(frame), 0, 255).astype(np.uint8)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if frame.ndim == 2 or frame.shape[2] != 3:
        grey = np.ascontiguousarray(frame if frame.ndim == 2 else frame[:, :, 0])
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    return frame


# A second count of the same line and direction within this time, by a track whose foot is
# within this many body widths of the first track's, is one person seen by two tracks.
DUPLICATE_S = 2.0
DUPLICATE_WIDTHS = 0.5


class Pipeline:
    """Counts crossings of `options.lines` in frames of `frame_size` (width, height)."""

    def __init__(self, options: PipelineOptions, frame_size: tuple[int, int], fps: float,
                 sizes: PersonSizeModel | None = None, realtime: bool = False,
                 timer: Callable[[], float] = time.perf_counter):
        """`sizes`: a person-size model to continue (a source keeps one across reconnects);
        `realtime`: frames come from a live camera (detect_every = 0 then adapts to the
        measured detector time, read with `timer`)."""
        self.options = options
        self.fps = fps
        self.realtime = realtime
        self.timer = timer
        self._detect_s: float | None = None  # smoothed seconds per detector call
        self._timed_kind = ""
        self.frame_size = frame_size
        self.size = process_size(options, *frame_size)
        pw, ph = self.size
        self.detector = make_detector(options, self.size, fps)
        # The detector in use: "auto" starts as "motion" and may become "ssdlite".
        self.kind = "motion" if options.detector == "auto" else options.detector
        self.auto_note = ""  # why "auto" kept the motion detector when it could not switch
        self.tracker = (PersonTracker(options.min_hits, options.max_missed_s,
                                      frame_s=1 / max(fps, 1.0))
                        if self.kind == "ssdlite" else
                        Tracker(options.min_hits, options.max_missed_s))
        self._tell_frame()
        self.sizes = sizes if sizes is not None else PersonSizeModel()
        self._sized = False  # the processing size has been chosen from the learnt size
        self._skipped = 0  # frames since the last detection frame (detect_every)
        if hasattr(self.detector, "person_at"):
            self.detector.person_at = self.person_at
        self._make_counters()
        self.mask = self._roi_mask(options.roi) if options.roi else None
        self.pending: dict[int, list[Crossing]] = {}
        self.counts = [{"in": 0, "out": 0} for _ in options.lines]
        self.frames = 0
        self.now = 0.0  # the time of the latest frame processed
        self.recent: list[tuple[float, int, str, int]] = []

    def _tell_frame(self) -> None:
        """The motion tracker marks boxes cut by the frame's edge (their foot is unseen);
        a person detector's boxes are counted as they are, and its tracker drops a track
        unseen at the edge (walked out) instead of keeping it to bring back."""
        if not isinstance(self.tracker, PersonTracker):
            self.tracker.frame = self.size
        else:
            self.tracker.picture = self.size

    def _make_counters(self) -> None:
        pw, ph = self.size
        band = self.options.deadband * ph
        self.counters = [
            LineCounter(i, ln.scaled(pw, ph), band, (pw, ph))
            for i, ln in enumerate(self.options.lines)
        ]

    @property
    def size_fit(self) -> SizeFit | None:
        """The person size in use: configured (person_size, far_scale) or learnt."""
        size = self.options.person_size
        if size is not None:
            return SizeFit(size, self.options.far_scale, 0, 0, (0.0, 1.0))
        return self.sizes.fit

    def person_at(self, foot_y: float) -> tuple[float, float] | None:
        """One person's (width, height) in processing pixels with the foot at row `foot_y`."""
        fit = self.size_fit
        if fit is None:
            return None
        w, h = fit.at(foot_y / self.size[1])
        return w * self.size[0], h * self.size[1]

    def _settle_size(self) -> None:
        """Once the person size is first known: the closing kernel, and for auto width the
        processing size where the smallest person seen is MIN_PERSON_PX tall."""
        fit = self.size_fit
        if fit is None or self._sized:
            return
        self._sized = True
        if self.options.detector == "auto" and fit.slope >= EYE_LEVEL_SLOPE:
            self._use_person_detector()
        smallest = fit.at(fit.rows[0])[1]  # normalised height at the farthest row seen
        width, height = self.frame_size
        if self.kind == "motion" and not self.options.process_width:
            pw = math.ceil(MIN_PERSON_PX / max(smallest, 1e-3) * width / height)
            pw = min(width, MOST_WIDTH, max(LEAST_WIDTH, pw))
            if pw != self.size[0]:
                self._rescale(_scaled_size(pw, width, height))
        if hasattr(self.detector, "set_close"):
            self.detector.set_close(round(0.3 * fit.at(fit.rows[0])[0] * self.size[0]))

    def _use_person_detector(self) -> None:
        """detector = "auto" on an eye-level view: switch to ssdlite (tracks carry over)."""
        from sensors.camera.ssdlite import SsdliteDetector
        from walkway.errors import UsageError

        try:
            detector = SsdliteDetector(self.options)
        except UsageError as exc:
            self.auto_note = f"eye-level view, but kept the motion detector: {exc}"
            return
        detector.person_at = self.person_at
        self.detector, self.kind = detector, "ssdlite"
        old = self.tracker
        self.tracker = PersonTracker(old.min_hits, old.max_missed_s, old.tracks, old._next_id,
                                     frame_s=1 / max(self.fps, 1.0))
        self._tell_frame()
        width, height = self.frame_size
        pw = min(width, self.options.process_width or DNN_WIDTH)
        if pw != self.size[0]:
            self._rescale(_scaled_size(pw, width, height))

    def _rescale(self, size: tuple[int, int]) -> None:
        """Carry tracks, line states and the empty scene over to a new processing size."""
        fx, fy = size[0] / self.size[0], size[1] / self.size[1]
        self.size = size
        self._tell_frame()
        if hasattr(self.detector, "resize"):
            self.detector.resize(size)
        held = [*getattr(self.tracker, "handed", []), *getattr(self.tracker, "lost", [])]
        for t in [*self.tracker.tracks, *held]:
            t.cx, t.cy, t.w, t.h = t.cx * fx, t.cy * fy, t.w * fx, t.h * fy
            t.vx, t.vy = t.vx * fx, t.vy * fy
        old = self.counters
        self._make_counters()
        for before, after in zip(old, self.counters, strict=True):
            for state in before.states.values():
                state.point = (state.point[0] * fx, state.point[1] * fy)
                if state.foot is not None:
                    state.foot = (state.foot[0] * fx, state.foot[1] * fy)
            after.states = before.states
        if self.options.roi:
            self.mask = self._roi_mask(self.options.roi)

    def _roi_mask(self, roi: Sequence[tuple[float, float]]) -> np.ndarray:
        pw, ph = self.size
        mask = np.zeros((ph, pw), np.uint8)
        pts = np.asarray([(x * pw, y * ph) for x, y in roi], np.int32)
        cv2.fillPoly(mask, [pts], 255)
        return mask

    def prepare(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The small colour frame and its grey version (ROI applied), for health and detection.

        A damaged frame (empty, one channel, four channels, another size) is made into an
        ordinary one rather than reaching the detectors as something they cannot take."""
        frame = usable_frame(frame, self.size)
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
            prepared = [self.prepare(f) for f in frames]
            bg.seed([gray for _small, gray in prepared])
            self.detector.shadows.seed([small for small, _gray in prepared])

    def reset(self) -> None:
        """Forget the background and every track (after a covered lens or a reconnect)."""
        self.detector.reset()
        self.tracker.reset()
        self.pending.clear()
        for counter in self.counters:
            counter.states.clear()

    def _every(self) -> int:
        """`detect_every`, once "auto" has chosen its detector: until then it learns the
        scene with the motion detector on every frame (cheap, and learning needs them).
        0 (auto): every frame on a file; live, the detector's share of the frame interval
        is kept under DETECT_SHARE from its measured time."""
        if self.options.detector == "auto" and not self._sized:
            return 1
        if self.options.detect_every:
            return self.options.detect_every
        if not self.realtime or self._detect_s is None:
            return 1
        return min(MAX_EVERY, max(1, math.ceil(self._detect_s * self.fps / DETECT_SHARE)))

    def _timed_detect(self, gray: np.ndarray, small: np.ndarray) -> np.ndarray:
        """The detector, timed when detect_every is auto on a live source."""
        if self.options.detect_every or not self.realtime:
            return self.detector.detect(gray, small)
        start = self.timer()
        boxes = self.detector.detect(gray, small)
        spent = self.timer() - start
        kind = self.kind
        if self._detect_s is None or kind != self._timed_kind:
            self._detect_s, self._timed_kind = spent, kind  # a new detector: start again
        else:
            self._detect_s += DETECT_RATE * (spent - self._detect_s)
        return boxes

    def _advance(self) -> bool:
        """True when this frame is a detection frame; counts it."""
        due = self._skipped == 0
        self._skipped = (self._skipped + 1) % self._every()
        return due

    def process(self, frame: np.ndarray, now: float) -> list[Crossing]:
        if self._skipped and not isinstance(self.tracker, PersonTracker):
            # Not a detection frame: do not even shrink it; tracks move on their velocity
            # (the person tracker follows the frame's optical flow instead, below).
            self._advance()
            self.frames += 1
            self.now = now
            self.tracker.predict(now)
            return []
        small, gray = self.prepare(frame)
        return self.process_prepared(small, gray, now)

    def process_prepared(self, small: np.ndarray, gray: np.ndarray, now: float) -> list[Crossing]:
        self.frames += 1
        self.now = now
        if self._advance():
            boxes = self._timed_detect(gray, small)
            if self.mask is not None and len(boxes) and self.kind != "motion":
                boxes = self._inside_roi(boxes)
            if isinstance(self.tracker, PersonTracker):
                self.tracker.every = self._every()
                weak = getattr(self.detector, "weak", None)
                if weak is not None and self.mask is not None and len(weak):
                    weak = self._inside_roi(weak)
                dead = self.tracker.update(boxes, now, weak, small)
            else:
                dead = self.tracker.update(boxes, now)
            if self.options.person_size is None:
                self.sizes.observe(self.tracker.tracks, self.size, now)
        elif isinstance(self.tracker, PersonTracker):
            # Between detections the person tracker moves each box by its optical flow.
            self.tracker.follow(small, now)
            dead = []
        else:
            self.tracker.predict(now)
            dead = []
        events: list[Crossing] = []
        whole = self._whole_box()
        for track in self.tracker.tracks:
            if not track.updated:
                continue
            box = (track.cx - track.w / 2, track.cy - track.h / 2, track.w, track.h)
            for counter in self.counters:
                for event in counter.update(track.id, track.foot, now,
                                            box if whole else None, track.cut):
                    if track.confirmed:
                        events.append(event)
                    else:
                        # Held until the track is confirmed, so a person first seen at the
                        # frame edge right before the line still counts, and noise never does.
                        self.pending.setdefault(track.id, []).append(event)
            if track.confirmed and track.id in self.pending:
                events.extend(self.pending.pop(track.id))
        ended = []  # crossings back still held when the track was lost (LineCounter.forget)
        for track in dead:
            self.pending.pop(track.id, None)
            gone = self._outside(track.foot)
            for counter in self.counters:
                held = counter.forget(track.id, gone)
                if held is not None and track.confirmed:
                    ended.append(held)
        # A lost track has no foot left to compare: no duplicate test for its crossing.
        events = [e for e in events if not self._duplicate(e, now)] + ended
        for event in events:
            self.counts[event.line][event.direction] += 1
        # Only once this frame's tracks are on the line counters: the frame "auto" switches
        # detector on (offline, frame 0) still gives each person seen a side to count from.
        self._settle_size()
        return events

    def finish(self) -> list[Crossing]:
        """The stream ended (end of file, camera gone): every track ends here. What a
        track still had undecided is decided as at its end (LineCounter.finish): a
        crossing back held as a possible bounce counts (it was last seen on that side),
        and a confirmed track whose foot is over a line but still inside the dead-band
        counts that crossing, as the reference rule (the line itself) does; nobody will
        see it leave the band. Crossings of unconfirmed tracks are dropped, as when a
        tentative track dies, and two live tracks on one body count once (_duplicate)."""
        events = []
        alive = {t.id for t in self.tracker.tracks}
        # The person tracker's lost tracks end too (hidden, their sides kept for a return).
        for track in [*self.tracker.tracks, *getattr(self.tracker, "lost", [])]:
            for counter in self.counters:
                crossing = counter.finish(track.id)
                if crossing is None or not track.confirmed:
                    continue
                # Two tracks on one body (a split blob) count once here too; a lost
                # track has no foot left to compare.
                if track.id not in alive or not self._duplicate(crossing, self.now):
                    events.append(crossing)
        self.pending.clear()
        for event in events:
            self.counts[event.line][event.direction] += 1
        return events

    def _outside(self, point: tuple[float, float]) -> bool:
        """The point is outside the processing frame (a dead track's foot carried out of
        the picture by its velocity while it coasted: the person walked out of it)."""
        x, y = point
        return not (0 <= x <= self.size[0] and 0 <= y <= self.size[1])

    def _whole_box(self) -> bool:
        """Hold crossings that move one edge of a box only (count.WHOLE_BOX_SHARE): blobs
        of the motion detector, unless people are seen at eye level (the learnt slope at
        least EYE_LEVEL_SLOPE, where a walker's far edge hardly moves)."""
        if isinstance(self.tracker, PersonTracker):
            return False
        fit = self.size_fit
        return fit is None or fit.slope < EYE_LEVEL_SLOPE

    def _inside_roi(self, boxes: np.ndarray) -> np.ndarray:
        """Person detectors see the whole picture: keep people whose feet are in the ROI."""
        assert self.mask is not None
        ph, pw = self.mask.shape
        fx = np.clip((boxes[:, 0] + boxes[:, 2] / 2).astype(int), 0, pw - 1)
        fy = np.clip((boxes[:, 1] + boxes[:, 3]).astype(int), 0, ph - 1)
        return boxes[self.mask[fy, fx] > 0]

    def _person_width(self, foot_y: float, measured: float) -> float:
        """A person's width at this height on the image: configured, else as measured."""
        person = self.person_at(foot_y)
        return measured if person is None else min(measured, person[0])

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
