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
from sensors.serial.common import SerialOptions, SerialSource, parse_serial_options
from sensors.serial.parsers import MaxBotixParser
from walkway.config_table import ConfigTable

QUANTITY = "snow_depth_mm"


@dataclass(frozen=True)
class SnowOptions:
    mount_height_mm: int = 2000
    min_range_mm: int = 300
    max_range_mm: int = 5000
    ground_tolerance_mm: int = 50


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
    serial = parse_serial_options(t, baudrate=9600, stall_s=10.0)
    snow = SnowOptions(
        mount_height_mm=t.integer("mount_height_mm", min=300, max=10_000),
        min_range_mm=t.integer("min_range_mm", 300, min=0, max=10_000),
        max_range_mm=t.integer("max_range_mm", 5000, min=500, max=9999),
        ground_tolerance_mm=t.integer("ground_tolerance_mm", 50, min=0, max=1000),
    )
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
