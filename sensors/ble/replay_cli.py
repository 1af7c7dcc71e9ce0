"""`walkway sensors ble-replay CAPTURE...`: the BLE estimator over sniffer captures.

For field validation, as `walkway count-video --gt` is for cameras: record a sniffer
capture (PACT CSV or Nordic pcapng) where the number of phones is known, replay it through
the same triage and window estimator as the "ble" source, and read per-window counts.
Only counts are printed, never an address.
"""

import argparse
import json
from typing import Any

from walkway.timeutil import iso_z

WINDOWS = (10, 12, 15, 20, 30, 60)


def register(sensors: Any) -> None:
    p = sensors.add_parser("ble-replay", help="run the BLE estimator over sniffer captures "
                           "(CSV or pcapng) and print per-window counts (no addresses)")
    p.add_argument("captures", nargs="+", metavar="CAPTURE",
                   help="PACT sniffer CSV or Nordic-sniffer pcapng; several are overlaid")
    p.add_argument("--window", type=int, default=60, choices=WINDOWS,
                   help="window length in seconds (as the source's window_s)")
    p.add_argument("--align", action="store_true",
                   help="shift every capture to start with the first (several phones at once)")
    p.add_argument("--phones-per-capture", type=int, metavar="N",
                   help="the truth: each capture holds N phones, counted in a window when "
                   "heard in the counting zone; adds exact/bracketed per window")
    p.add_argument("--zone-rssi", type=float, default=None, metavar="DBM",
                   help="counting zone (default: the source's zone_rssi_dbm)")
    p.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    p.set_defaults(handler=ble_replay)


def triaged(adverts: list) -> list[tuple[float, str, int, str | None]]:
    """(time, address, rssi, exclusion reason) as the live source's triage gives them."""
    from sensors.ble.estimator import BEACON, address_kind, is_beacon

    out = []
    for a in adverts:
        reason = address_kind(a.address, a.address_type)
        if reason is None and is_beacon(a.manufacturer_data, list(a.service_uuids),
                                        a.service_data):
            reason = BEACON
        out.append((a.time, a.address, a.rssi, reason))
    return out


def replay(captures: list[list], options: Any, align: bool,
           phones_per_capture: int | None) -> dict[str, Any]:
    """Per-window results over the overlaid captures, with the truth when it is known."""
    from sensors.ble.capture import overlay, shifted
    from sensors.ble.estimator import run_windows

    phones = [overlay([c], False, True) for c in captures if c]  # own addresses each
    if align and phones:
        phones = [shifted(c, phones[0][0].time - c[0].time) for c in phones]
    scene = overlay(phones, False, False)
    if not scene:
        return {"windows": [], "summary": {"windows": 0}}
    w = options.window_s
    start = scene[0].time // w * w
    results = run_windows(triaged(scene), options, start)
    rows = []
    for r in results:
        row: dict[str, Any] = {"start": iso_z(r.start), **r.directions(), "adverts": r.adverts}
        if phones_per_capture is not None:
            heard = sum(1 for c in phones
                        if any(r.start <= a.time < r.end and a.rssi >= options.zone_rssi_dbm
                               for a in c))
            truth = heard * phones_per_capture
            row.update(truth=truth, exact=r.estimate == truth,
                       bracketed=r.lower <= truth <= r.upper)
        rows.append(row)
    summary: dict[str, Any] = {"windows": len(rows)}
    if phones_per_capture is not None:
        summary["exact"] = sum(r["exact"] for r in rows)
        summary["bracketed"] = sum(r["bracketed"] for r in rows)
    return {"windows": rows, "summary": summary}


def ble_replay(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from sensors.ble.capture import read_capture
    from sensors.ble.estimator import EstimatorOptions

    opts = EstimatorOptions(window_s=float(args.window))
    if args.zone_rssi is not None:
        opts = replace(opts, zone_rssi_dbm=args.zone_rssi)
    captures = [read_capture(c) for c in args.captures]
    out = replay(captures, opts, args.align, args.phones_per_capture)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for r in out["windows"]:
            line = " ".join(f"{k}={r[k]}" for k in ("estimate", "lower", "upper", "passby",
                                                    "staying", "adverts"))
            if "truth" in r:
                line += f" truth={r['truth']} {'exact' if r['exact'] else 'off'} " \
                        f"{'bracketed' if r['bracketed'] else 'MISSED'}"
            print(f"{r['start']} {line}")
        print(" ".join(f"{k}={v}" for k, v in out["summary"].items()))
    s = out["summary"]
    if not s["windows"]:
        return 1
    return 1 if "bracketed" in s and s["bracketed"] < s["windows"] else 0
