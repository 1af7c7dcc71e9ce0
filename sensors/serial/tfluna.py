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
from sensors.serial.common import SerialOptions, SerialSource, parse_serial_options, serial_keys
from sensors.serial.parsers import LidarFrame, TfLunaParser
from walkway.config_table import ConfigTable
from walkway.keys import REQUIRED, Key, KeySpec

DIRECTION = "pass"


DETECTOR_KEYS = KeySpec("sources.tfluna", [
    Key("mount_height_cm", "integer", REQUIRED, "sensor to floor", min=30, max=800),
    Key("min_person_height_cm", "integer", 100, "a dip below mount - this is a person",
        min=20, max=250),
    Key("hysteresis_cm", "integer", 10, "the dip ends above threshold + hysteresis",
        min=0, max=100),
    Key("min_pass_ms", "number", 150.0, "shorter dips are rejected (rejected_short)",
        min=10, max=10_000),
    Key("max_pass_ms", "number", 4000.0, "longer dips are rejected (rejected_long: standing, "
        "a cart, snow)", min=100, max=600_000),
    Key("frame_rate_hz", "number", 100.0, "durations come from frame counts at this rate",
        min=1, max=250),
    Key("exit_frames", "integer", 3, "consecutive frames above the band needed to end a dip",
        min=1, max=50),
])
TFLUNA_KEYS = serial_keys(baudrate=115200, stall_s=5.0) + DETECTOR_KEYS
D = DETECTOR_KEYS.default


@dataclass(frozen=True)
class DetectorOptions:
    mount_height_cm: int = 250  # required in a config; this is for code and tests only
    min_person_height_cm: int = D("min_person_height_cm")
    hysteresis_cm: int = D("hysteresis_cm")
    min_pass_ms: float = D("min_pass_ms")
    max_pass_ms: float = D("max_pass_ms")
    frame_rate_hz: float = D("frame_rate_hz")
    exit_frames: int = D("exit_frames")

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
    serial = parse_serial_options(t, TFLUNA_KEYS)
    k = DETECTOR_KEYS
    mount = t.read(k["mount_height_cm"])
    person = t.read(k["min_person_height_cm"])
    if mount is not None and person is not None and person >= mount - 10:
        t.problem("min_person_height_cm", f"a height well below mount_height_cm ({mount})",
                  person)
    det = DetectorOptions(
        mount_height_cm=mount or DetectorOptions.mount_height_cm,
        min_person_height_cm=person or D("min_person_height_cm"),
        hysteresis_cm=t.read(k["hysteresis_cm"]),
        min_pass_ms=t.read(k["min_pass_ms"]),
        max_pass_ms=t.read(k["max_pass_ms"]),
        frame_rate_hz=t.read(k["frame_rate_hz"]),
        exit_frames=t.read(k["exit_frames"]),
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
