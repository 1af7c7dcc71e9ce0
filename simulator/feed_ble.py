"""BLE feed: a crowd of phones (rotating addresses) and infrastructure through the real estimator.

Phones come from simulator/ble_crowd.py's model (one phone per person, resolvable private
addresses rotating every 20-90 s, beacons and public devices that must not be counted);
arrivals follow the scenario's demand instead of a constant rate. The truth per window is
what the crowd model defines: people whose phone was heard in the window inside the
counting zone (>= -80 dBm), compared with the estimator's "estimate".
"""

import heapq
import random
from collections.abc import Callable, Iterator
from pathlib import Path

from simulator import ble_crowd
from simulator.ble_backend import ADVERTS, UNPLUGGED, encode_advert
from simulator.feed_base import Feed

LEAD_S = 240.0  # people arriving before the start fill the first window
ENVELOPE_MARGIN = 1.1  # over the highest sampled rate: the rate moves between samples
ZONE_RSSI_DBM = -80.0  # the truth's counting zone (ble_crowd.Crowd.truth, the estimator's)


def _timed_lines(path: Path) -> Iterator[tuple[float, str]]:
    """(exact time, advert line) from a file of `repr(time) TAB line` rows."""
    with path.open() as f:
        for row in f:
            t, _, line = row.rstrip("\n").partition("\t")
            yield float(t), line


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


def bins_heard(times: list[tuple[float, int]], first: int, width: int,
               zone_rssi_dbm: float = ZONE_RSSI_DBM) -> set[int]:
    """Bin starts in which a phone was heard inside the counting zone (Crowd.truth's rule,
    `b <= t < b + width`, per phone instead of per bin: one pass however long the run)."""
    return {first + int((t - first) // width) * width for t, r in times if r >= zone_rssi_dbm}


class BleFeed(Feed):
    compare = ("estimate",)

    def prepare(self) -> None:
        """Write the run's adverts in time order, streaming: only the phones still in range
        are held (a few minutes of arrivals), never the whole day; the infrastructure's
        adverts are generated while the file is merged. The file is the same, byte for
        byte, as sorting every advert of the run in memory (phones in arrival order, then
        each device's, by time, ties in that order)."""
        ctx = self.ctx
        sc = ctx.scenario
        rng, rate, peak, spec = self.crowd()
        width = sc.bin_seconds
        first = int(sc.start // width) * width
        truth = dict.fromkeys(range(first, int(sc.end), width), 0)
        path = ctx.world_dir / ADVERTS
        phones = path.with_name(path.name + ".phones")
        self.adverts = 0
        with phones.open("w") as out:
            for a in self._phone_adverts(rng, spec, rate, peak, truth, first):
                out.write(f"{a.time!r}\t{encode_advert(a)}\n")
                self.adverts += 1
        # The devices draw from the generator after every phone (as the model always did):
        # each device's stream starts from a copy of the state at its turn.
        streams: list[Iterator[tuple[float, str]]] = [_timed_lines(phones)]
        for device in ble_crowd.infrastructure_devices(rng, spec):
            mine = random.Random()
            mine.setstate(rng.getstate())
            streams.append((a.time, encode_advert(a))
                           for a in ble_crowd.device_adverts(mine, device, sc.start, sc.end))
            for _ in ble_crowd.device_adverts(rng, device, sc.start, sc.end):
                self.adverts += 1  # moves the generator on to the next device's turn
        with path.open("w") as out:
            for _, line in heapq.merge(*streams, key=lambda x: x[0]):
                out.write(line + "\n")
        phones.unlink()
        self.truth = {(b, "estimate"): float(n) for b, n in truth.items()}

    def crowd(self) -> tuple[random.Random, Callable[[float], float], float,
                             ble_crowd.CrowdSpec]:
        """This node's generator (seeded from the scenario, node and sensor), its arrival
        rate over the day, the rate's peak and the crowd spec drawn from them."""
        ctx = self.ctx
        sc = ctx.scenario
        seed = sc.seed * 1000 + sum(map(ord, ctx.node.id + self.sensor.name))

        def rate(t: float) -> float:
            return ctx.demand.rate(ctx.node, self.sensor, max(t, sc.start))

        peak = envelope(rate, sc.start, sc.end, self.sensor.peak_per_min)
        spec = ble_crowd.CrowdSpec(people_per_min=peak, duration_s=sc.end - sc.start,
                                   start=sc.start, seed=seed)
        return random.Random(seed), rate, peak, spec

    def _phone_adverts(self, rng: random.Random, spec: ble_crowd.CrowdSpec,
                       rate: Callable[[float], float], peak: float, truth: dict[int, int],
                       first: int) -> Iterator[ble_crowd.Advert]:
        """Phones' heard adverts in time order (ties: arrival order), counting each phone in
        `truth` for the bins it was heard in. A phone's adverts start at its arrival, so an
        advert before the next arrival can never be overtaken: it leaves the heap."""
        sc = self.ctx.scenario
        held: list[tuple[float, int, ble_crowd.Advert]] = []
        seq = 0
        for t in arrivals(rng, rate, sc.start - LEAD_S, sc.end, peak):
            while held and held[0][0] <= t:
                yield heapq.heappop(held)[2]
            ads, times = ble_crowd.phone_adverts(rng, spec, t)
            times = [x for x in times if sc.start <= x[0] < sc.end]
            if not times:
                continue
            for a in ads:
                if sc.start <= a.time < sc.end:
                    heapq.heappush(held, (a.time, seq, a))
                    seq += 1
            for b in bins_heard(times, first, sc.bin_seconds):
                if b in truth:
                    truth[b] += 1
        while held:
            yield heapq.heappop(held)[2]

    def source_toml(self) -> str:
        window = self.ctx.scenario.bin_seconds if self.ctx.scenario.bin_seconds <= 60 else 60
        # The watchdog counts simulated seconds: at high speed a busy CPU can hold the
        # event loop for a fraction of a wall second, which must not look like a stall.
        # At most the source's own limit (3600): above 720x the sim wrote an invalid config.
        watchdog = min(3600.0, max(30.0, 5.0 * self.ctx.scenario.speed))
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
