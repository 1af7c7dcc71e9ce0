"""Crew tools for BLE and serial sensors: `walkway sensors ble-scan`, `ble-replay`, `serial-read`.

Both print what a sensor delivers right now, without the edge daemon. ble-scan prints only
counts, never an address (the same estimator as the "ble" source).
"""

import argparse
import sys
import time
from typing import Any

from walkway.errors import WalkwayError


class SensorToolError(WalkwayError):
    """A port or adapter a crew tool could not use."""


def register(subparsers: Any, groups: dict[str, Any]) -> None:
    sensors = groups["sensors"]
    ble = sensors.add_parser("ble-scan", help="scan BLE for a while and print crowd counts "
                             "per window (no addresses)")
    ble.add_argument("--adapter", help="e.g. hci0 (default: the system's default adapter)")
    ble.add_argument("--seconds", type=float, default=30.0, help="how long to scan")
    ble.add_argument("--window", type=int, default=10, choices=(10, 15, 20, 30, 60),
                     help="window length in seconds")
    ble.add_argument("--active", action="store_true", help="active scan (default: passive "
                     "where BlueZ supports it)")
    ble.add_argument("--backend", help="a bleak backend as module:name (simulator, tests)")
    ble.set_defaults(handler=ble_scan)
    from sensors.ble import replay_cli

    replay_cli.register(sensors)
    ser = sensors.add_parser("serial-read", help="read a serial sensor and print decoded "
                             "frames and error counters")
    ser.add_argument("type", choices=("tfluna", "maxbotix", "wxt530"))
    ser.add_argument("url", help="device path or pyserial URL (socket://host:port, loop://)")
    ser.add_argument("--baud", type=int, help="default: the device's usual rate")
    ser.add_argument("--seconds", type=float, default=10.0, help="how long to read")
    ser.set_defaults(handler=serial_read)


def ble_scan(args: argparse.Namespace) -> int:
    import threading
    from pathlib import Path

    from sensors.base import SourceContext
    from sensors.ble.estimator import EstimatorOptions
    from sensors.ble.source import BleOptions, BleSource

    opts = BleOptions(estimator=EstimatorOptions(window_s=float(args.window)),
                      scanning="active" if args.active else "auto", adapter=args.adapter,
                      backend=args.backend)
    source = BleSource("ble-scan", opts, SourceContext("local", Path("."), time.time))
    stop = threading.Event()

    def show(batch: Any) -> None:
        # One batch can hold two windows (a window boundary just before the stop).
        windows: dict[float, dict[str, int]] = {}
        for o in batch.observations:
            windows.setdefault(o.time, {})[o.direction] = o.count
        for at, row in sorted(windows.items()):
            stamp = time.strftime("%H:%M:%S", time.localtime(at))
            print(f"{stamp} estimate={row['estimate']} lower={row['lower']} "
                  f"upper={row['upper']} passby={row['passby']} staying={row['staying']}",
                  flush=True)

    thread = threading.Thread(target=source.run, args=(show, stop, None), daemon=True)
    thread.start()
    stop.wait(args.seconds)
    stop.set()
    thread.join(10)
    st = source.status()
    print(f"state={st.state} reason={st.reason!r}")
    print(" ".join(f"{k}={v}" for k, v in sorted(st.counters.items())))
    return 0 if st.counters.get("adverts", 0) else 1


def serial_read(args: argparse.Namespace) -> int:
    import serial

    from sensors.serial.parsers import MaxBotixParser, TfLunaParser, Wxt530Parser

    parser, baud = {"tfluna": (TfLunaParser, 115200), "maxbotix": (MaxBotixParser, 9600),
                    "wxt530": (Wxt530Parser, 19200)}[args.type]
    p = parser()
    try:
        port = serial.serial_for_url(args.url, baudrate=args.baud or baud, timeout=0.1)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise SensorToolError(f"{args.url}: cannot open: {exc}") from exc
    end = time.monotonic() + args.seconds
    last_print = 0.0
    frames = 0
    with port:
        while time.monotonic() < end:
            try:
                data = port.read(4096)
            except serial.SerialException as exc:
                raise SensorToolError(f"{args.url}: read failed: {exc}") from exc
            got = p.feed(data) if data else []
            frames += len(got)
            # TF-Luna sends 100 frames/s: one line per second is what a crew can read.
            if got and (args.type == "wxt530" or time.monotonic() - last_print >= 1.0):
                print(_describe(got[-1]), flush=True)
                last_print = time.monotonic()
    print(f"frames={frames} garbage_bytes={p.garbage_bytes} bad_checksums={p.bad_checksums}")
    if frames == 0 and p.garbage_bytes:
        print("no valid frames; baud rate?", file=sys.stderr)
    return 0 if frames else 1


def _describe(frame: Any) -> str:
    if isinstance(frame, int):
        return f"range_mm={frame}"
    if hasattr(frame, "distance_cm"):
        return (f"distance_cm={frame.distance_cm} strength={frame.strength} "
                f"temp_c={frame.temp_c:.1f} reliable={frame.reliable}")
    return " ".join(f"{k}={v:g}" for k, v in frame.values.items())
