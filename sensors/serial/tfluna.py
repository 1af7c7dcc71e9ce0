"""Source type "tfluna": a Benewake TF-Luna / TF-Mini-S lidar mounted overhead counts people.

A pedestrian is a dip of the measured distance below (mount_height - min_person_height)
lasting a plausible time. Durations come from frame counts at the configured frame rate
(TF-Luna default 100 Hz, manual 5.3 "frame rate"), not from arrival times, so buffering in
USB adapters or a busy CPU never stretches or squeezes a pass. Frames the manual calls
unreliable (strength < 100 or == 65535) never start or end a dip; they only let time pass.
Counts are observations with direction "pass" (an overhead beam cannot tell direction).
"""

from dataclasses import dataclass
from typing import Any

from sensors.base import SourceContext
from sensors.serial.common import SerialOptions, SerialSource, parse_serial_options
from sensors.serial.parsers import LidarFrame, TfLunaParser
from walkway.config_table import ConfigTable

DIRECTION = "pass"


@dataclass(frozen=True)
class DetectorOptions:
    mount_height_cm: int = 250
    min_person_height_cm: int = 100
    hysteresis_cm: int = 10
    min_pass_ms: float = 150.0
    max_pass_ms: float = 4000.0
    frame_rate_hz: float = 100.0
    exit_frames: int = 3

    @property
    def threshold_cm(self) -> int:
        return self.mount_height_cm - self.min_person_height_cm


@dataclass(frozen=True)
class TfLunaOptions:
    serial: SerialOptions
    detector: DetectorOptions


class PassDetector:
    """Pure state machine: frames in, number of completed passes out."""

    def __init__(self, o: DetectorOptions) -> None:
        self.o = o
        self.in_dip = False
        self.dip_frames = 0
        self.above = 0  # consecutive reliable frames above the exit level
        self.unreliable = 0
        self.rejected_short = 0
        self.rejected_long = 0
        self.interrupted = 0
        self.passes = 0

    def reset(self) -> None:
        """After a reconnect: a pass in progress is dropped (interrupted), never guessed."""
        if self.in_dip:
            self.interrupted += 1
        self.in_dip, self.dip_frames, self.above = False, 0, 0

    def feed(self, frames: list[LidarFrame]) -> int:
        o = self.o
        enter, leave = o.threshold_cm, o.threshold_cm + o.hysteresis_cm
        done = 0
        for f in frames:
            reliable = 100 <= f.strength < 65535 and f.distance_cm > 0
            if not reliable:
                self.unreliable += 1
                if self.in_dip:
                    self.dip_frames += 1
                continue
            if not self.in_dip:
                if f.distance_cm < enter:
                    self.in_dip, self.dip_frames, self.above = True, 1, 0
                continue
            self.dip_frames += 1
            if f.distance_cm <= leave:
                self.above = 0
                continue
            # Debounced exit: one stray frame (a reflection, a corrupted frame that passed
            # the 8-bit checksum) must not split one person into two.
            self.above += 1
            if self.above < o.exit_frames:
                continue
            ms = (self.dip_frames - self.above) * 1000.0 / o.frame_rate_hz
            self.in_dip = False
            if ms < o.min_pass_ms:
                self.rejected_short += 1
            elif ms > o.max_pass_ms:
                self.rejected_long += 1  # someone standing, a cart, a snow pile
            else:
                done += 1
        self.passes += done
        return done


def parse_options(t: ConfigTable) -> TfLunaOptions:
    serial = parse_serial_options(t, baudrate=115200, stall_s=5.0)
    mount = t.integer("mount_height_cm", min=30, max=800)
    person = t.integer("min_person_height_cm", 100, min=20, max=250)
    if mount is not None and person is not None and person >= mount - 10:
        t.problem("min_person_height_cm", f"a height well below mount_height_cm ({mount})",
                  person)
    det = DetectorOptions(
        mount_height_cm=mount or 250,
        min_person_height_cm=person or 100,
        hysteresis_cm=t.integer("hysteresis_cm", 10, min=0, max=100),
        min_pass_ms=t.number("min_pass_ms", 150.0, min=10, max=10_000),
        max_pass_ms=t.number("max_pass_ms", 4000.0, min=100, max=600_000),
        frame_rate_hz=t.number("frame_rate_hz", 100.0, min=1, max=250),
        exit_frames=t.integer("exit_frames", 3, min=1, max=50),
    )
    return TfLunaOptions(serial, det)


def open_source(spec: Any, ctx: SourceContext) -> "TfLunaSource":
    return TfLunaSource(spec.name, spec.options, ctx)


class TfLunaSource(SerialSource):
    def __init__(self, name: str, options: TfLunaOptions, ctx: SourceContext) -> None:
        self.detector = PassDetector(options.detector)
        super().__init__(name, options.serial, ctx)

    def new_parser(self) -> TfLunaParser:
        return TfLunaParser()

    def zero_directions(self) -> tuple[str, ...]:
        return (DIRECTION,)

    def on_reconnect(self) -> None:
        self.detector.reset()

    def on_frames(self, frames: list, now: float) -> None:
        n = self.detector.feed(frames)
        if n:
            self.add_count(now, DIRECTION, n)
        self.add_measure(now, "lidar_temp_c", frames[-1].temp_c)

    def extra_counters(self) -> dict[str, int]:
        d = self.detector
        return {"passes": d.passes, "unreliable_frames": d.unreliable,
                "rejected_short": d.rejected_short, "rejected_long": d.rejected_long,
                "interrupted": d.interrupted}
