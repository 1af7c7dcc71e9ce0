"""The "camera" source type: capture -> health check -> pipeline -> counts, with reconnect.

Config (`[[sources]]` with `type = "camera"`, see docs/camera.md) is validated by
`parse_options` without importing cv2. Each counting line is its own sensor, named
"{source name}.{line name}", with the line's direction labels ("in"/"out" by default).
Every `emit_seconds` the source emits the crossings seen since the last batch plus a
zero-count observation for every line and direction while the picture is usable, so a
zero differs from a gap; the watermark is always the source's clock. No frame is ever
stored or sent: only counts leave this module.
"""

import logging
import os
import threading
from typing import TYPE_CHECKING

from sensors.base import Emit, Source, SourceContext, SourceState, SourceStatus
from sensors.camera.options import CameraOptions, parse_camera
from walkway.config_table import ConfigTable
from walkway.records import END_OF_TIME, Batch, Observation

if TYPE_CHECKING:
    from sensors.camera.count import Crossing

log = logging.getLogger(__name__)


def parse_options(t: ConfigTable) -> CameraOptions:
    return parse_camera(t)


def open_source(spec: "object", ctx: SourceContext) -> "CameraSource":
    return CameraSource(spec.name, spec.options, ctx)  # type: ignore[attr-defined]


class CameraSource(Source):
    def __init__(self, name: str, options: CameraOptions, ctx: SourceContext) -> None:
        super().__init__(name)
        self.options = options
        self.ctx = ctx
        self.lines = options.pipeline.lines
        self.sensors = [f"{name}.{line.name}" for line in self.lines]
        self._status = SourceStatus(SourceState.STARTING)
        self._counters = {"frames": 0, "crossings": 0, "reconnects": 0, "picture_problems": 0}
        self._pending: list[Observation] = []
        self._last_emit = 0.0
        from sensors.camera.autosize import PersonSizeModel

        self._sizes = PersonSizeModel()  # learnt once per camera, kept across reconnects

    # -- status ---------------------------------------------------------------------
    def status(self) -> SourceStatus:
        return SourceStatus(self._status.state, self._status.reason, dict(self._counters))

    def _set(self, state: SourceState, reason: str = "") -> None:
        if (state, reason) != (self._status.state, self._status.reason):
            if state in (SourceState.OK, SourceState.IDLE):
                log.info("camera %s: %s %s", self.name, state, reason)
            else:
                log.warning("camera %s: %s: %s", self.name, state, reason)
        self._status = SourceStatus(state, reason)

    # -- batches --------------------------------------------------------------------
    def _flush(self, emit: Emit, *, counting: bool) -> None:
        now = self.ctx.clock()
        observations = self._pending
        if counting:
            for sensor, line in zip(self.sensors, self.lines, strict=True):
                observations.append(Observation(now, sensor, line.in_label, 0))
                observations.append(Observation(now, sensor, line.out_label, 0))
        self._pending = []
        self._last_emit = now
        emit(Batch(observations=observations, watermark=now))

    def _wait(self, emit: Emit, stop: threading.Event, seconds: float) -> None:
        """Wait for a reconnect attempt, still advancing the watermark (no zero counts)."""
        end = self.ctx.clock() + seconds
        while not stop.is_set():
            left = end - self.ctx.clock()
            if left <= 0:
                return
            stop.wait(min(left, self.options.emit_s))
            self._flush(emit, counting=False)

    def _wait_for_next_file(
        self, emit: Emit, stop: threading.Event, device: str, finished: tuple | None
    ) -> None:
        """`follow`: the clip just counted may still be at the path (its writer replaces it,
        but may be slow on a busy machine): reading it twice would count everyone twice, so
        wait until another file is there, still advancing the watermark."""
        self._set(SourceState.IDLE, f"{device}: waiting for the next clip")
        while not stop.is_set():
            now = _identity(device)
            if now is not None and now != finished:
                return
            stop.wait(min(0.05, self.options.emit_s))
            self._flush(emit, counting=False)

    def _backoff(self, failures: int) -> float:
        # Capped exponent: a camera away for weeks must not overflow the float.
        return min(self.options.reconnect_max_s, 0.5 * 2.0 ** min(failures, 16))

    # -- main loop ------------------------------------------------------------------
    def run(self, emit: Emit, stop: threading.Event, position: str | None) -> None:
        from sensors.camera.capture import describe, is_file, open_capture

        device = self.options.device
        failures = 0
        opened_before = False
        self._last_emit = self.ctx.clock()
        while not stop.is_set():
            opened = _identity(device) if self.options.follow and is_file(device) else None
            cap = open_capture(device)
            if cap is None:
                self._set(SourceState.DISCONNECTED, f"{describe(device)}: cannot open")
                failures += 1
                self._wait(emit, stop, self._backoff(failures))
                continue
            if opened_before:
                self._counters["reconnects"] += 1
            opened_before = True
            try:
                outcome = self._count(cap, emit, stop)
            finally:
                cap.release()
            if outcome == "frames":
                failures = 0
            if stop.is_set():
                break
            if is_file(device) and outcome != "none":
                if self.options.follow:
                    self._wait_for_next_file(emit, stop, device, opened)
                    continue
                if self.options.loop:
                    continue
                self._flush(emit, counting=False)
                self._set(SourceState.IDLE, f"{device}: end of video file")
                emit(Batch(watermark=END_OF_TIME))
                stop.wait()
                break
            self._set(SourceState.DISCONNECTED, f"{describe(device)}: stopped delivering frames")
            failures += 1
            self._wait(emit, stop, self._backoff(failures))
        self._flush(emit, counting=False)

    def _count_events(self, events: "list[Crossing]", now: float) -> None:
        """Crossings (count.Crossing) become observations of the next batch."""
        for event in events:
            line = self.lines[event.line]
            label = line.in_label if event.direction == "in" else line.out_label
            self._pending.append(Observation(now, self.sensors[event.line], label, 1))
            self._counters["crossings"] += 1

    def _count(self, cap: object, emit: Emit, stop: threading.Event) -> str:
        """Read and count until the stream ends or stops; "none" if no frame came at all."""
        from sensors.camera.capture import frame_rate, is_file
        from sensors.camera.health import FrameHealth
        from sensors.camera.pipeline import Pipeline

        file_mode = is_file(self.options.device)
        fps = frame_rate(cap, self.options.fps)  # type: ignore[arg-type]
        health = FrameHealth(self.options.health)
        pipeline: Pipeline | None = None
        index = 0
        needs_reset = False
        counting = False
        while not stop.is_set():
            ok, frame = cap.read()  # type: ignore[attr-defined]
            if not ok or frame is None:
                break
            now = self.ctx.clock()
            # Files are read faster than real time: their own frame times drive the tracker.
            t = index / fps if file_mode else now
            index += 1
            self._counters["frames"] += 1
            if pipeline is None:
                # The learnt person size outlives a reconnect: it is the same camera.
                pipeline = Pipeline(self.options.pipeline, (frame.shape[1], frame.shape[0]), fps,
                                    self._sizes, realtime=not file_mode)
                self._set(SourceState.OK)
            small, gray = pipeline.prepare(frame)
            del frame  # nothing of the picture outlives this iteration
            problem = health.check(gray, t)
            if problem is not None:
                if self._status.state != problem[0]:
                    self._counters["picture_problems"] += 1
                self._set(*problem)
            elif self._status.state in (SourceState.DEGRADED, SourceState.STALLED):
                self._set(SourceState.OK)
            counting = not health.suspect and problem is None
            if problem is not None and problem[0] == SourceState.DEGRADED:
                needs_reset = True  # afterwards, learn the scene again from scratch
            # While the picture is suspect, frames are skipped: a covered lens must not
            # become the background, and a brief shadow must not cost the tracks.
            if not health.suspect:
                if needs_reset:
                    pipeline.reset()
                    needs_reset = False
                self._count_events(pipeline.process_prepared(small, gray, t), now)
            if now - self._last_emit >= self.options.emit_s:
                self._flush(emit, counting=counting)
        if pipeline is not None:
            # The stream ended (or the node stops): so do the tracks, and a crossing still
            # undecided is decided (Pipeline.finish), as count-video does at a file's end.
            self._count_events(pipeline.finish(), self.ctx.clock())
        if index:
            self._flush(emit, counting=counting)
        return "frames" if index else "none"


def _identity(path: str) -> tuple | None:
    """Which file is at `path`: a replacement (even a new link to the same clip, which
    changes the inode's ctime) differs; None when nothing is there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_ctime_ns)
