"""Simulated serial devices: frame builders, scenarios with known truth, and a pty writer.

Pure builders:   tfluna_frame(), maxbotix_frame(), wxt530_message()
Scenarios:       tfluna_passes() (walkers from simulator/gate_walkers.py), maxbotix_series(),
                 wxt530_series() -> (frames, truth)
Corruption:      corrupt(frames, protocol, rng, junk_per_frame) -> bytes (junk between frames
                 that a correct parser must reject: random bytes, truncated and bit-flipped
                 frames, bad checksums)
A fake port:     PtyDevice(link) - a real pty whose slave is reachable through `link`, like a
                 udev /dev/serial/by-id/ symlink; unplug() / replug() as with a USB cable.
Writer process:  python -m simulator.serial_devices PROTOCOL --link PATH --phases 3,2 ...
                 prints "ready", then for each phase waits for a line on stdin, writes the
                 phase and prints "sent N"; --replug unplugs and replugs between phases.
"""

import argparse
import os
import random
import sys
import tty
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from simulator.gate_walkers import GateView, walkers_for

# -- frame builders (datasheet references in sensors/serial/parsers.py) ------------------------


def tfluna_frame(distance_cm: int, strength: int = 1000, temp_c: float = 40.0,
                 *, bad_checksum: bool = False) -> bytes:
    temp = int(round((temp_c + 256.0) * 8)) & 0xFFFF
    body = bytes([0x59, 0x59, distance_cm & 0xFF, (distance_cm >> 8) & 0xFF,
                  strength & 0xFF, (strength >> 8) & 0xFF, temp & 0xFF, temp >> 8])
    check = (sum(body) + (1 if bad_checksum else 0)) & 0xFF
    return body + bytes([check])


def maxbotix_frame(range_mm: int) -> bytes:
    return b"R%04d\r" % range_mm


WXT_ORDER = (("Dm", "D", "{:.0f}"), ("Sm", "M", "{:.1f}"), ("Ta", "C", "{:.1f}"),
             ("Ua", "P", "{:.1f}"), ("Pa", "H", "{:.1f}"), ("Rc", "M", "{:.2f}"),
             ("Hc", "M", "{:.1f}"))
WXT_QUANTITY = MappingProxyType({"Dm": "wind_dir_deg", "Sm": "wind_speed_ms",
                                 "Ta": "temperature_c", "Ua": "humidity_pct",
                                 "Pa": "pressure_hpa", "Rc": "rain_mm", "Hc": "hail_hits_cm2"})


def wxt530_message(values: Mapping[str, float], address: str = "0",
                   invalid: Sequence[str] = ()) -> bytes:
    """`0R0,Dm=283D,Sm=1.0M,...` + CR LF from {field: value}; fields in `invalid` get '#'."""
    parts = []
    for name, unit, fmt in WXT_ORDER:
        if name in values:
            parts.append(f"{name}={fmt.format(values[name])}{'#' if name in invalid else unit}")
    return f"{address}R0,{','.join(parts)}\r\n".encode()


# -- scenarios with known truth ----------------------------------------------------------------


def tfluna_passes(n: int, rng: random.Random, mount_cm: int = 250, rate_hz: float = 100.0,
                  group_share: float = 0.0) -> tuple[list[bytes], int]:
    """Idle floor readings with `n` people walking under the beam (simulator/gate_walkers.py:
    sizes, paces, 2 % weak frames on a person) and a few unreliable frames on the floor.
    `group_share` > 0: that share walks in file right behind the one ahead (close walkers,
    often one dip); otherwise 0.25-0.8 s of floor between people."""
    times: list[float] = []
    t = rng.uniform(0.2, 0.6)
    for _ in range(n):
        times.append(t)
        t += rng.uniform(0.8, 2.0)
    walkers = walkers_for(times, rng, 0.0, group_share)
    view = GateView(walkers, mount_cm)
    end = (walkers[-1].end if walkers else 0.0) + rng.uniform(0.3, 0.8)
    frames: list[bytes] = []
    for k in range(int(end * rate_hz)):
        x = k / rate_hz
        dist, strength = view.reading(x, rng)
        if strength >= 800 and rng.random() < 0.02:  # floor: a weak or saturated return
            frames.append(tfluna_frame(0, rng.choice((20, 65535))))
        else:
            frames.append(tfluna_frame(dist, strength))
    return frames, n


def maxbotix_series(n: int, rng: random.Random,
                    mount_mm: int = 2000) -> tuple[list[bytes], list[float]]:
    """Snow depth readings; about 10 % are out-of-range codes that must be ignored."""
    frames, depths = [], []
    depth = rng.randint(0, 400)
    for _ in range(n):
        if rng.random() < 0.1:
            frames.append(maxbotix_frame(rng.choice((5000, 9999, 300))))
            continue
        depth = max(0, min(1500, depth + rng.randint(-5, 8)))
        frames.append(maxbotix_frame(mount_mm - depth))
        depths.append(float(depth))
    return frames, depths


def wxt530_series(n: int, rng: random.Random) -> tuple[list[bytes], list[dict[str, float]]]:
    """Composite messages and the measurements each must yield (Sm is '#' in 10 %)."""
    frames, truth = [], []
    rain = 0.0
    for _ in range(n):
        rain += rng.choice((0.0, 0.0, 0.1, 0.2))
        v = {"Dm": rng.randint(0, 359), "Sm": round(rng.uniform(0, 12), 1),
             "Ta": round(rng.uniform(-15, 30), 1), "Ua": round(rng.uniform(20, 100), 1),
             "Pa": round(rng.uniform(980, 1040), 1), "Rc": round(rain, 2),
             "Hc": round(rng.choice((0.0, 0.0, 0.0, 1.0)), 1)}
        invalid = ("Sm",) if rng.random() < 0.1 else ()
        frames.append(wxt530_message(v, invalid=invalid))
        truth.append({WXT_QUANTITY[k]: float(x) for k, x in v.items() if k not in invalid})
    return frames, truth


# -- corruption ----------------------------------------------------------------------------------


def _junk(frame: bytes, protocol: str, rng: random.Random) -> bytes:
    """One piece of junk a correct parser rejects (never a frame that is valid but wrong)."""
    kind = rng.randrange(4)
    if protocol == "wxt530":
        if kind == 0:
            body = bytes(rng.randrange(32, 127) for _ in range(rng.randint(1, 80)))
        elif kind == 1:
            # cut short, then a field that can never parse: a cut right after a unit letter
            # would otherwise be a valid (duplicate) message
            body = frame[: rng.randint(1, len(frame) - 3)].rstrip(b"\r\n") + b",="
        elif kind == 2:
            body = frame.rstrip(b"\r\n").replace(b"=", b"=x", 1)
        else:
            body = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
            body = body.replace(b"\n", b"").replace(b"\r", b"")
        return body + b"\r\n"
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 24)))
    if kind == 1:
        return frame[: rng.randint(1, len(frame) - 1)]  # truncated
    if protocol == "tfluna":
        # Any single bit flip changes the 8-bit sum, so the checksum always catches it.
        b = bytearray(frame)
        i = rng.randrange(2, 9)
        b[i] ^= 1 << rng.randrange(8)
        return bytes(b) if kind == 2 else tfluna_frame(rng.randrange(1200), bad_checksum=True)
    b = bytearray(frame)  # maxbotix: a letter where a digit belongs, or a lost CR
    if kind == 2:
        b[rng.randrange(1, 5)] = rng.choice(b"ABCxyz")
    else:
        b[5] = ord(rng.choice("\n!"))
    return bytes(b)


def corrupt(frames: Sequence[bytes], protocol: str, rng: random.Random,
            junk_per_frame: float = 1.0) -> tuple[bytes, int]:
    """Frames with junk inserted between them; returns (stream, number of junk pieces)."""
    out = bytearray()
    pieces = 0
    for f in frames:
        k = int(junk_per_frame) + (rng.random() < junk_per_frame % 1)
        for _ in range(k):
            out += _junk(f, protocol, rng)
            pieces += 1
        out += f
    return bytes(out), pieces


# -- a pty that looks like a USB serial adapter -------------------------------------------------


class PtyDevice:
    """A pty; `link` points at its slave like /dev/serial/by-id/... points at /dev/ttyUSB0."""

    def __init__(self, link: Path) -> None:
        self.link = Path(link)
        self.master = -1
        self.slave = -1
        self.replug()

    @property
    def path(self) -> str:
        return os.ttyname(self.slave)

    def replug(self) -> None:
        self.master, self.slave = os.openpty()
        # Raw on the slave: a cooked tty would turn CR into LF and eat ^C/^D bytes.
        tty.setraw(self.slave)
        tmp = self.link.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.path)
        tmp.replace(self.link)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view):]

    def unplug(self) -> None:
        """Like pulling the cable: readers get EIO, the device node disappears."""
        self.link.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1

    def close(self) -> None:
        self.unplug()


def scenario(protocol: str, phases: Sequence[int], seed: int, junk: float = 0.0,
             groups: float = 0.0, rate_hz: float = 100.0) -> list[tuple[bytes, Any, int]]:
    """Per phase: (bytes to write, truth, junk pieces inserted). Truth: tfluna -> passes,
    maxbotix -> depths in mm, wxt530 -> one {quantity: value} per message. Deterministic."""
    rng = random.Random(seed)
    out: list[tuple[bytes, Any, int]] = []
    for n in phases:
        if protocol == "tfluna":
            frames, truth = tfluna_passes(n, rng, rate_hz=rate_hz, group_share=groups)
        elif protocol == "maxbotix":
            frames, truth = maxbotix_series(n, rng)
        else:
            frames, truth = wxt530_series(n, rng)
        data, pieces = corrupt(frames, protocol, rng, junk) if junk else (b"".join(frames), 0)
        out.append((data, truth, pieces))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m simulator.serial_devices")
    p.add_argument("protocol", choices=("tfluna", "maxbotix", "wxt530"))
    p.add_argument("--link", type=Path, required=True)
    p.add_argument("--phases", default="5", help="comma-separated sizes (people/readings)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--junk", type=float, default=0.0, help="junk pieces per frame")
    p.add_argument("--groups", type=float, default=0.0,
                   help="tfluna: share of people walking in file right behind another")
    p.add_argument("--rate", type=float, default=100.0, help="tfluna: frames per second")
    p.add_argument("--replug", action="store_true", help="unplug + replug between phases")
    p.add_argument("--garbage", type=int, default=0,
                   help="instead of frames, write this many random bytes (a wrong baud rate)")
    args = p.parse_args(argv)
    phases = [int(x) for x in args.phases.split(",")]
    plan = scenario(args.protocol, phases, args.seed, args.junk, args.groups, args.rate)
    dev = PtyDevice(args.link)
    print("ready", flush=True)
    try:
        if args.garbage:
            sys.stdin.readline()
            dev.write(random.Random(args.seed).randbytes(args.garbage))
            print("sent garbage", flush=True)
        else:
            for i, (data, _, _) in enumerate(plan):
                if i and args.replug:
                    if not sys.stdin.readline():
                        return 0
                    dev.unplug()
                    print("unplugged", flush=True)
                    sys.stdin.readline()
                    dev.replug()
                    print("replugged", flush=True)
                if not sys.stdin.readline():
                    return 0
                dev.write(data)
                print(f"sent {phases[i]}", flush=True)
        sys.stdin.read()  # hold the line open until the test is done
    finally:
        dev.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
