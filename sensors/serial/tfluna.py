"""Source type "tfluna": a Benewake TF-Luna / TF-Mini-S lidar mounted overhead counts people.

A pedestrian is a dip of the measured distance below (mount_height - min_person_height)
lasting a plausible time. Durations come from frame counts at the configured frame rate
(TF-Luna default 100 Hz, manual 5.3 "frame rate"), not from arrival times, so buffering in
USB adapters or a busy CPU never stretches or squeezes a pass. Frames the manual calls
unreliable (strength < 100 or == 65535) never start or end a dip; they only let time pass.
Counts are observations with direction "pass" (an overhead beam cannot tell direction).
One dip can hold several close walkers: sensors/serial/tfluna_split.py splits it by its
shape and by its duration against the learnt single-person dip.
"""

from dataclasses import dataclass
from typing import Any

from sensors.base import SourceContext
from sensors.serial.common import SerialOptions, SerialSource, parse_serial_options, serial_keys
from sensors.serial.parsers import LidarFrame, TfLunaParser
from sensors.serial.tfluna_split import SinglePassModel
from walkway.config_table import ConfigTable
from walkway.keys import REQUIRED, Key, KeySpec

DIRECTION = "pass"


DETECTOR_KEYS = KeySpec("sources.tfluna", [
    Key("mount_height_cm", "integer", REQUIRED, "sensor to floor", min=30, max=800),
    Key("min_person_height_cm", "integer", 80, "a dip below mount - this is a person",
        min=20, max=250),
    Key("hysteresis_cm", "integer", 10, "the dip ends above threshold + hysteresis",
        min=0, max=100),
    Key("min_pass_ms", "number", 100.0, "shorter dips are rejected (rejected_short); a fast "
        "walker or a child is 120-150 ms under the beam, a hand or a bird well under 100",
        min=10, max=10_000),
    Key("max_pass_ms", "number", 4000.0, "longer dips are rejected (rejected_long: standing, "
        "a cart, snow)", min=100, max=600_000),
    Key("frame_rate_hz", "number", 100.0, "durations come from frame counts at this rate",
        min=1, max=250),
    Key("exit_frames", "integer", 3, "consecutive frames above the band needed to end a dip",
        min=1, max=50),
    Key("bump_cm", "integer", 20, "a rise and fall of this much inside a dip separates two "
        "walkers", min=5, max=200),
    Key("split_ratio", "number", 2.0, "a segment this many learnt singles long holds two "
        "people (3.0: three)", min=1.1, max=10),
    Key("smooth_split_ratio", "number", 2.6, "the same for a dip without any bump or gap",
        min=1.1, max=10),
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
    bump_cm: int = D("bump_cm")
    split_ratio: float = D("split_ratio")
    smooth_split_ratio: float = D("smooth_split_ratio")

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
        self.model = SinglePassModel(o.frame_rate_hz, o.bump_cm, o.split_ratio,
                                     o.smooth_split_ratio, o.threshold_cm + o.hysteresis_cm)
        self.max_frames = int(o.max_pass_ms * o.frame_rate_hz / 1000.0) + o.exit_frames + 1
        self.in_dip = False
        self.dip_frames = 0
        self.above = 0  # consecutive reliable frames above the exit level
        # The dip's distances, an unreliable frame repeating the last (bounded by max_frames)
        self.profile: list[int] = []
        self.clear = 0  # reliable floor frames since the last dip ended
        self.clear_before = 0  # ... before the current / last dip began
        self.pending = 0  # frames of the last one-person dip, learnt once it proves isolated
        self.unreliable = 0
        self.rejected_short = 0
        self.rejected_long = 0
        self.interrupted = 0
        self.passes = 0
        self.split_extra = 0  # people counted beyond one per dip
        self.dip_start = 0  # frame number (since this detector began) of the dip's first frame
        self.frame_no = 0  # frames fed so far
        # Passes completed by the last feed(): (frame_no of the dip's first frame, people).
        # The source stamps the count there, not when bytes arrived.
        self.completed: list[tuple[int, int]] = []

    def reset(self) -> None:
        """After a reconnect: a pass in progress is dropped (interrupted), never guessed."""
        if self.in_dip:
            self.interrupted += 1
        self.in_dip, self.dip_frames, self.above = False, 0, 0
        self.profile, self.clear, self.pending = [], 0, 0

    def feed(self, frames: list[LidarFrame]) -> int:
        o = self.o
        enter, leave = o.threshold_cm, o.threshold_cm + o.hysteresis_cm
        done = 0
        self.completed = []
        for f in frames:
            self.frame_no += 1
            reliable = 100 <= f.strength < 65535 and f.distance_cm > 0
            if not reliable:
                self.unreliable += 1
                if self.in_dip:
                    self.dip_frames += 1
                    # Time passes on whatever the beam saw last (durations stay true).
                    if len(self.profile) < self.max_frames:
                        self.profile.append(self.profile[-1])
                continue
            if not self.in_dip:
                if f.distance_cm < enter:
                    self.in_dip, self.dip_frames, self.above = True, 1, 0
                    self.dip_start = self.frame_no
                    self.profile = [f.distance_cm]
                    self.pending = 0  # the last dip was not followed by enough floor
                    self.clear_before, self.clear = self.clear, 0
                    continue
                self.clear += 1
                if self.pending and self.clear >= self.model.isolated_frames:
                    self.model.learn(self.pending)
                    self.pending = 0
                continue
            self.dip_frames += 1
            if len(self.profile) < self.max_frames:
                self.profile.append(f.distance_cm)
            if f.distance_cm <= leave:
                self.above = 0
                continue
            # Debounced exit: one stray frame (a reflection, a corrupted frame that passed
            # the 8-bit checksum) must not split one person into two.
            self.above += 1
            if self.above < o.exit_frames:
                continue
            frames = self.dip_frames - self.above
            ms = frames * 1000.0 / o.frame_rate_hz
            self.in_dip = False
            self.clear = self.above
            if ms < o.min_pass_ms:
                self.rejected_short += 1
            elif ms > o.max_pass_ms:
                self.rejected_long += 1  # someone standing, a cart, a snow pile
            else:
                people, segments = self.model.count(self.profile[: len(self.profile)
                                                                 - self.above])
                done += people
                self.split_extra += people - 1
                self.completed.append((self.dip_start, people))
                if people == 1 and len(segments) == 1 and \
                        self.clear_before >= self.model.isolated_frames:
                    self.pending = segments[0]
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
        bump_cm=t.read(k["bump_cm"]),
        split_ratio=t.read(k["split_ratio"]),
        smooth_split_ratio=t.read(k["smooth_split_ratio"]),
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
        det = self.detector
        det.feed(frames)
        # A pass is stamped when its dip began (the walker reached the beam), counted back
        # from the batch's last frame at the frame rate: a read that returns seconds of
        # buffered frames (a busy CPU, a USB FIFO) must not move counts into later bins.
        period = 1.0 / det.o.frame_rate_hz
        for start, n in det.completed:
            self.add_count(now - (det.frame_no - start) * period, DIRECTION, n)
        self.add_measure(now, "lidar_temp_c", frames[-1].temp_c)

    def extra_counters(self) -> dict[str, int]:
        d = self.detector
        return {"passes": d.passes, "unreliable_frames": d.unreliable,
                "rejected_short": d.rejected_short, "rejected_long": d.rejected_long,
                "interrupted": d.interrupted, "split_extra": d.split_extra,
                "single_pass_ms": d.model.single_ms()}
