"""Synthetic BLE crowds of known size, with address rotation, and a bleak backend replaying them.

    crowd = generate_crowd(CrowdSpec(people_per_min=60, duration_s=300, seed=1))
    crowd.truth(start, end)          # people heard in [start, end) in the counting zone
    Backend = replay_backend(crowd.adverts, clock)   # pass as BleakScanner(backend=Backend)

The model is deliberately simple and documented, so that results are reproducible:
- a corridor with the scanner at x = 0; people walk past (speed 0.8-1.6 m/s, lateral offset
  1-6 m) or stay at 2-12 m for a dwell; RSSI = tx_1m - 10 n log10(d) + N(0, 3 dB) with n = 2.2;
  adverts below -95 dBm are not heard and 30 % of the rest are lost (scan duty cycle);
- each phone advertises every 0.2-1.0 s from a resolvable private address that rotates every
  `rotation_s` (uniform range, random phase): iOS/Android rotate at least every 15 min and
  often far sooner (issue #4: "an iPhone 3-4 in a few minutes");
- infrastructure that must NOT be counted: iBeacons (static address), an Eddystone beacon,
  public-address devices, and a fixed device with a rotating random address and steady RSSI.
"""

import asyncio
import csv
import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EDDYSTONE = "0000feaa-0000-1000-8000-00805f9b34fb"
SENSITIVITY_DBM = -95.0
LOSS = 0.3


@dataclass(frozen=True, slots=True)
class Advert:
    time: float
    address: str
    rssi: int
    address_type: str = "random"  # as BlueZ reports it in the device's AddressType property
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_uuids: tuple[str, ...] = ()
    service_data: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class CrowdSpec:
    people_per_min: float = 60.0
    duration_s: float = 300.0
    start: float = 1_700_000_040.0  # a multiple of 60: windows line up with store bins
    stay_fraction: float = 0.2
    stay_s: tuple[float, float] = (40.0, 240.0)
    rotation_s: tuple[float, float] = (20.0, 90.0)
    beacons: int = 3
    public_devices: int = 2
    fixed_rotating: int = 1
    seed: int = 1


@dataclass
class Crowd:
    spec: CrowdSpec
    adverts: list[Advert]
    heard: list[list[tuple[float, int]]]  # per phone: (time, rssi) of its heard adverts
    addresses: set[str]  # every address used, phones and infrastructure

    def truth(self, start: float, end: float, zone_rssi_dbm: float = -80.0) -> int:
        """People whose phone was heard in [start, end) at least once at >= zone_rssi_dbm
        (the counting zone; the estimator's default). `zone_rssi_dbm=-200`: anyone heard."""
        return sum(
            1 for ads in self.heard if any(start <= t < end and r >= zone_rssi_dbm for t, r in ads)
        )

    def windows(self, window_s: float = 60.0) -> list[tuple[float, float]]:
        s = self.spec
        n = int(s.duration_s // window_s)
        return [(s.start + i * window_s, s.start + (i + 1) * window_s) for i in range(n)]


def random_address(rng: random.Random, kind: str = "rpa") -> str:
    """A random address of the given kind (Core Spec v5.3 Vol 6 Part B 1.3)."""
    b = [rng.randrange(256) for _ in range(6)]
    top = {"rpa": 0x40, "nrpa": 0x00, "static": 0xC0, "public": 0x00}[kind]
    if kind != "public":
        b[0] = (b[0] & 0x3F) | top
    return ":".join(f"{x:02X}" for x in b)


def _rssi(rng: random.Random, tx_1m: float, d: float) -> float:
    return tx_1m - 22.0 * math.log10(max(d, 0.5)) + rng.gauss(0.0, 3.0)


def phone_adverts(rng: random.Random, spec: CrowdSpec,
                  arrive: float) -> tuple[list[Advert], list[tuple[float, int]]]:
    """One person arriving at `arrive`: their phone's heard adverts and (time, rssi) list."""
    tx_1m = rng.uniform(-64.0, -54.0)
    interval = rng.uniform(0.2, 1.0)
    if rng.random() < spec.stay_fraction:
        dist = rng.uniform(2.0, 12.0)
        leave = arrive + rng.uniform(*spec.stay_s)

        def where(_t: float) -> float:
            return dist
    else:
        speed, lateral = rng.uniform(0.8, 1.6), rng.uniform(1.0, 6.0)
        x0 = -60.0
        leave = arrive + 120.0 / speed

        def where(t: float) -> float:
            return math.hypot(x0 + speed * (t - arrive), lateral)
    period = rng.uniform(*spec.rotation_s)
    next_rotation = arrive + rng.uniform(0.0, period)
    address = random_address(rng)
    adverts: list[Advert] = []
    heard: list[tuple[float, int]] = []
    t = arrive + rng.uniform(0.0, interval)
    while t < leave:
        if t >= next_rotation:
            address, next_rotation = random_address(rng), next_rotation + period
        rssi = _rssi(rng, tx_1m, where(t))
        if rssi >= SENSITIVITY_DBM and rng.random() >= LOSS:
            adverts.append(Advert(t, address, round(rssi), "random", {0x0006: b"\x01\x09"}))
            heard.append((t, round(rssi)))
        t += interval + rng.uniform(0.0, 0.01)  # BLE adds 0-10 ms advDelay (Core Spec 4.4.2.2.1)
    return adverts, heard


# One fixed device: address, address type, manufacturer data, service uuids, service data,
# RSSI level, steady (a fixed rotating device: small RSSI steps instead of Gaussian noise).
Device = tuple[str, str, dict, tuple, dict, float, bool]


def infrastructure_devices(rng: random.Random, spec: CrowdSpec) -> list[Device]:
    """The spec's beacons, public-address and fixed devices."""
    devices: list[Device] = []
    for i in range(spec.beacons):
        if i % 3 == 2:
            devices.append((random_address(rng, "nrpa"), "random", {}, (EDDYSTONE,),
                            {EDDYSTONE: b"\x10\x00"}, rng.uniform(-90, -60), False))
        else:
            ibeacon = b"\x02\x15" + rng.randbytes(16) + b"\x00\x01\x00\x02\xc5"
            devices.append((random_address(rng, "static"), "random", {0x004C: ibeacon}, (), {},
                            rng.uniform(-90, -60), False))
    for _ in range(spec.public_devices):
        devices.append((random_address(rng, "public"), "public", {}, (), {},
                        rng.uniform(-85, -60), False))
    for _ in range(spec.fixed_rotating):
        devices.append((random_address(rng, "rpa"), "random", {}, (), {},
                        rng.uniform(-80, -65), True))
    return devices


def device_adverts(rng: random.Random, device: Device, start: float,
                   end: float) -> Iterator[Advert]:
    """One device's adverts, one a second from `start` to `end`, generated as they are read."""
    address, atype, mdata, uuids, sdata, level, steady = device
    t = start + rng.uniform(0, 1)
    while t < end:
        noise = rng.choice((0, 0, 0, 1)) if steady else rng.gauss(0, 3)
        yield Advert(t, address, round(level + noise), atype, mdata, uuids, sdata)
        t += 1.0


def infrastructure_adverts(rng: random.Random, spec: CrowdSpec, end: float) -> list[Advert]:
    """Adverts of the spec's beacons, public-address and fixed devices, start to `end`."""
    out: list[Advert] = []
    for device in infrastructure_devices(rng, spec):
        out.extend(device_adverts(rng, device, spec.start, end))
    return out


def generate_crowd(spec: CrowdSpec, rate: Callable[[float], float] | None = None) -> Crowd:
    """People arrive as a Poisson process from 4 min before `start` (so the first window is
    already busy) until the end; adverts outside [start, start + duration) are dropped.

    `rate(t)`: people per minute at time t, at most spec.people_per_min (the peak), for
    demand that varies over the day (thinning, Lewis-Shedler); None = constant peak rate.
    """
    rng = random.Random(spec.seed)
    end = spec.start + spec.duration_s
    adverts: list[Advert] = []
    heard: list[list[tuple[float, int]]] = []
    t = spec.start - 240.0
    peak = spec.people_per_min / 60.0
    while peak > 0:
        t += rng.expovariate(peak)
        if t >= end:
            break
        if rate is not None and rng.random() * spec.people_per_min > rate(max(t, spec.start)):
            continue
        ads, times = phone_adverts(rng, spec, t)
        ads = [a for a in ads if spec.start <= a.time < end]
        times = [x for x in times if spec.start <= x[0] < end]
        if times:
            adverts.extend(ads)
            heard.append(times)
    adverts.extend(infrastructure_adverts(rng, spec, end))
    adverts.sort(key=lambda a: a.time)
    return Crowd(spec, adverts, heard, {a.address for a in adverts})


def read_pact_csv(path: str | Path) -> list[Advert]:
    """Adverts from a MIT LL PACT sniffer CSV (rows `ts,"Bluetooth",addr,rssi,tx,epoch,ch`
    after a header block). The sniffer does not record the address type; phones use
    resolvable private addresses, so "random" is assumed."""
    out = []
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) >= 7 and row[1] == "Bluetooth":
                out.append(Advert(float(row[5]), row[2].upper(), int(row[3])))
    out.sort(key=lambda a: a.time)
    return out


class ManualClock:
    """A settable clock for tests and fast replays: `clock()`, `clock.set(t)`, `advance(s)`."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def set(self, t: float) -> None:
        self.now = max(self.now, t)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def replay_backend(adverts: Iterable[Advert], clock: Callable[[], float] | None = None,
                   *, stall_after: int | None = None, tail_s: float = 180.0) -> type:
    """A BaseBleakScanner subclass replaying `adverts` (bleak's own seam, `backend=`).

    With a ManualClock the replay is as fast as possible and moves the clock to each advert's
    time, then `tail_s` past the last one so open windows close. Otherwise adverts are paced
    in real time, shifted to start now. All instances share one cursor: a scanner restarted
    by the watchdog continues where the previous one stopped. `stall_after` = N makes the
    first instance go silent after N adverts (how BlueZ stalls) until it is restarted.
    """
    from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

    source: Iterator[Advert] = iter(adverts)
    state = {"instances": 0, "done": False, "last": 0.0}
    manual = isinstance(clock, ManualClock)

    class ReplayScanner(BaseBleakScanner):
        def __init__(self, detection_callback: Any, service_uuids: Any,
                     scanning_mode: str = "active", **kwargs: Any) -> None:
            super().__init__(detection_callback, service_uuids)
            self.scanning_mode = scanning_mode
            self.kwargs = kwargs
            self._task: asyncio.Task | None = None
            state["instances"] += 1
            self._stall = stall_after if state["instances"] == 1 else None

        async def start(self) -> None:
            self._task = asyncio.get_running_loop().create_task(self._replay())

        async def stop(self) -> None:
            if self._task is not None:
                self._task.cancel()
                self._task = None

        async def _replay(self) -> None:
            loop = asyncio.get_running_loop()
            shift = None
            sent = 0
            for ad in source:
                if manual:
                    clock.set(ad.time)  # type: ignore[union-attr]
                else:
                    if shift is None:
                        shift = loop.time() - ad.time
                    delay = ad.time + shift - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                props = {"AddressType": ad.address_type}
                data = AdvertisementData(
                    local_name=None, manufacturer_data=ad.manufacturer_data,
                    service_data=ad.service_data, service_uuids=list(ad.service_uuids),
                    tx_power=None, rssi=ad.rssi, platform_data=("/org/bluez/hci0/dev", props),
                )
                device = self.create_or_update_device(ad.address, ad.address, None, None, data)
                self.call_detection_callbacks(device, data)
                state["last"] = ad.time
                sent += 1
                if sent % 256 == 0:
                    await asyncio.sleep(0)  # let the source's own tasks run
                if self._stall is not None and sent >= self._stall:
                    return  # silent until the watchdog restarts the scanner
            state["done"] = True
            if manual:
                clock.set(state["last"] + tail_s)  # type: ignore[union-attr]

    ReplayScanner.state = state  # type: ignore[attr-defined]
    return ReplayScanner
