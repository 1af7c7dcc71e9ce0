"""Source type "maxbotix": a MaxBotix ultrasonic ranger looking down as a snow-depth gauge.

snow_depth_mm = mount_height_mm - range_mm, stored as a measurement (n/sum/min/max per bin).
Readings that do not measure the snow surface are ignored and counted, never stored
(MaxBotix HRXL-MaxSonar-WR datasheet, "Range outputs"):
  - range >= max_range_mm (default 5000): the 5 m models report 5000 and the 10 m models
    9999 when no target is detected;
  - range <= min_range_mm (default 300): targets inside the 30 cm dead zone are reported as
    300 mm, so a reading there says only "something is very close" (ice on the sensor, a
    snow cornice, a bird);
  - depth below -ground_tolerance_mm: the range is longer than the mount height, so the
    beam missed the ground (mount moved, a hole) - not a negative snow depth.
Small negative depths (within the tolerance) are ground noise and are stored as 0.
"""

from dataclasses import dataclass
from typing import Any

from sensors.base import SourceContext
from sensors.serial.common import SerialOptions, SerialSource, parse_serial_options, serial_keys
from sensors.serial.parsers import MaxBotixParser
from walkway.config_table import ConfigTable
from walkway.keys import REQUIRED, Key, KeySpec

QUANTITY = "snow_depth_mm"


SNOW_KEYS = KeySpec("sources.maxbotix", [
    Key("mount_height_mm", "integer", REQUIRED, "sensor face to bare ground",
        min=300, max=10_000),
    Key("min_range_mm", "integer", 300, "readings <= this are ignored (dead zone is reported "
        "as 300)", min=0, max=10_000),
    Key("max_range_mm", "integer", 5000, "readings >= this are ignored (5000 / 9999 = no "
        "target)", min=500, max=9999),
    Key("ground_tolerance_mm", "integer", 50, "depths down to -this are stored as 0; below: "
        "ignored", min=0, max=1000),
])
MAXBOTIX_KEYS = serial_keys(baudrate=9600, stall_s=10.0) + SNOW_KEYS
D = SNOW_KEYS.default


@dataclass(frozen=True)
class SnowOptions:
    mount_height_mm: int = 2000  # required in a config; this is for code and tests only
    min_range_mm: int = D("min_range_mm")
    max_range_mm: int = D("max_range_mm")
    ground_tolerance_mm: int = D("ground_tolerance_mm")


@dataclass(frozen=True)
class MaxBotixOptions:
    serial: SerialOptions
    snow: SnowOptions


class SnowGauge:
    """Pure: a range in mm -> a snow depth in mm, or None (and a counter says why)."""

    def __init__(self, o: SnowOptions) -> None:
        self.o = o
        self.out_of_range = 0
        self.too_close = 0
        self.below_ground = 0

    def depth(self, range_mm: int) -> float | None:
        o = self.o
        if range_mm >= o.max_range_mm:
            self.out_of_range += 1
            return None
        if range_mm <= o.min_range_mm:
            self.too_close += 1
            return None
        depth = o.mount_height_mm - range_mm
        if depth < -o.ground_tolerance_mm:
            self.below_ground += 1
            return None
        return float(max(depth, 0))


def parse_options(t: ConfigTable) -> MaxBotixOptions:
    serial = parse_serial_options(t, MAXBOTIX_KEYS)
    snow = SnowOptions(**{key.name: t.read(key) for key in SNOW_KEYS})
    return MaxBotixOptions(serial, snow)


def open_source(spec: Any, ctx: SourceContext) -> "MaxBotixSource":
    return MaxBotixSource(spec.name, spec.options, ctx)


class MaxBotixSource(SerialSource):
    def __init__(self, name: str, options: MaxBotixOptions, ctx: SourceContext) -> None:
        self.gauge = SnowGauge(options.snow)
        super().__init__(name, options.serial, ctx)

    def new_parser(self) -> MaxBotixParser:
        return MaxBotixParser()

    def on_frames(self, frames: list, now: float) -> None:
        for range_mm in frames:
            depth = self.gauge.depth(range_mm)
            if depth is not None:
                self.add_measure(now, QUANTITY, depth)

    def extra_counters(self) -> dict[str, int]:
        g = self.gauge
        return {"out_of_range": g.out_of_range, "too_close": g.too_close,
                "below_ground": g.below_ground}
