"""BLE feed: a crowd of phones (rotating addresses) and infrastructure through the real estimator.

Phones come from simulator/ble_crowd.py's model (one phone per person, resolvable private
addresses rotating every 20-90 s, beacons and public devices that must not be counted);
arrivals follow the scenario's demand instead of a constant rate. The truth per window is
what the crowd model defines: people whose phone was heard in the window inside the
counting zone (>= -80 dBm), compared with the estimator's "estimate".
"""

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import replace

from simulator import ble_crowd
from simulator.ble_backend import ADVERTS, UNPLUGGED
from simulator.feed_base import Feed

LEAD_S = 240.0  # people arriving before the start fill the first window
ENVELOPE_MARGIN = 1.1  # over the highest sampled rate: the rate moves between samples


def envelope(rate: Callable[[float], float], start: float, end: float, peak: float) -> float:
    """People per minute at least as high as `rate` ever gets in [start, end): event and
    snow boosts go above the sensor's `peak_per_min`, and thinning cannot keep more than
    every arrival of its envelope."""
    highest = max(rate(t) for t in range(int(start), int(end) + 30, 30))
    return max(0.1, peak, highest * ENVELOPE_MARGIN)


def arrivals(rng: random.Random, rate: Callable[[float], float], start: float, end: float,
             peak: float) -> Iterator[float]:
    """Arrival times of a Poisson process of `rate` (people/min), by thinning (Lewis-Shedler):
    arrivals at the envelope rate `peak`, each kept with probability rate(t) / peak."""
    t = start
    while True:
        t += rng.expovariate(peak / 60.0)
        if t >= end:
            return
        if rng.random() * peak <= rate(t):
            yield t


class BleFeed(Feed):
    compare = ("estimate",)

    def prepare(self) -> None:
        ctx = self.ctx
        sc = ctx.scenario
        seed = sc.seed * 1000 + sum(map(ord, ctx.node.id + self.sensor.name))
        rng = random.Random(seed)

        def rate(t: float) -> float:
            return ctx.demand.rate(ctx.node, self.sensor, max(t, sc.start))

        peak = envelope(rate, sc.start, sc.end, self.sensor.peak_per_min)
        spec = ble_crowd.CrowdSpec(people_per_min=peak, duration_s=sc.end - sc.start,
                                   start=sc.start, seed=seed)
        heard: list[list[tuple[float, int]]] = []
        adverts: list[ble_crowd.Advert] = []
        for t in arrivals(rng, rate, sc.start - LEAD_S, sc.end, peak):
            # ble_crowd keeps the per-phone model private; it is the documented model.
            ads, times = ble_crowd._phone(rng, spec, t)  # noqa: SLF001
            ads = [a for a in ads if sc.start <= a.time < sc.end]
            times = [x for x in times if sc.start <= x[0] < sc.end]
            if times:
                adverts.extend(ads)
                heard.append(times)
        adverts.extend(ble_crowd._infrastructure(rng, spec, sc.end))  # noqa: SLF001
        adverts.sort(key=lambda a: a.time)
        crowd = ble_crowd.Crowd(replace(spec), adverts, heard, set())
        width = sc.bin_seconds
        first = int(sc.start // width) * width
        self.truth = {(b, "estimate"): float(crowd.truth(b, b + width))
                      for b in range(first, int(sc.end), width)}
        with (ctx.world_dir / ADVERTS).open("w") as f:
            for a in adverts:
                f.write(json.dumps([round(a.time, 3), a.address, a.rssi, a.address_type,
                                    {str(k): v.hex() for k, v in a.manufacturer_data.items()},
                                    list(a.service_uuids),
                                    {k: v.hex() for k, v in a.service_data.items()}]) + "\n")
        self.adverts = len(adverts)

    def source_toml(self) -> str:
        window = self.ctx.scenario.bin_seconds if self.ctx.scenario.bin_seconds <= 60 else 60
        # The watchdog counts simulated seconds: at high speed a busy CPU can hold the
        # event loop for a fraction of a wall second, which must not look like a stall.
        watchdog = max(30.0, 5.0 * self.ctx.scenario.speed)
        return (f'[[sources]]\ntype = "ble"\nname = "{self.source_name}"\n'
                f'window_s = {window}\nscanning = "active"\nwatchdog_s = {watchdog:g}\n'
                'backend = "simulator.ble_backend:factory"\n')

    def unplug(self, on: bool) -> bool:
        flag = self.ctx.world_dir / UNPLUGGED
        if on:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)
        self.unplugged = on
        return True
