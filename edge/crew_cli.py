"""The crew's commands on a node: `walkway status`, `walkway selftest`, `walkway outbox`,
`walkway sensors watch`, `walkway install-systemd`.

Everything reads the node's own store and system (no network, except selftest's broker
check). `--json` prints plain JSON for scripts; otherwise rich tables for people.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from walkway.timeutil import iso_z, parse_iso

DEFAULT_CONFIG = "/var/lib/walkway/node.toml"


def _clock() -> Any:
    from walkway.clock import clock_from_env  # WALKWAY_CLOCK: `walkway sim` time

    return clock_from_env()


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from edge.config import load_config
    from edge.store import Store

    config = load_config(args.config)
    return config, Store.from_config(config, clock=_clock(), durable=False)


def _console() -> Any:
    from rich.console import Console

    # markup=False: reasons and paths often contain [brackets] (e.g. "[signage]").
    return Console(width=None if sys.stdout.isatty() else 100, highlight=False, markup=False)


def _dump(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def recent_counts(store: Any, now: float, minutes: tuple[int, ...] = (5, 15)) -> list[dict]:
    """Per sensor and direction: the count in the last N minutes (bins started since)."""
    longest = max(minutes) * 60
    rows = store.count_rows_since(int(now - longest))
    table: dict[tuple[str, str, str], dict] = {}
    for source, sensor, direction, start, count in rows:
        entry = table.setdefault((source, sensor, direction), {
            "source": source, "sensor": sensor, "direction": direction,
            **{f"last_{m}_min": 0 for m in minutes}})
        for m in minutes:
            if start >= now - m * 60:
                entry[f"last_{m}_min"] += count
    return list(table.values())


def status_data(config: Any, store: Any, now: float) -> dict[str, Any]:
    from edge.health import collect, heartbeat
    from edge.health_config import health_config

    data = collect(config, store, now)
    data["config_file"] = str(config.file)
    data["bridge"] = heartbeat(store, "bridge", now, health_config(config).stale_after_s)
    data["counts"] = recent_counts(store, now)
    return data


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def render_status(d: dict[str, Any], console: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    console.print(f"node {d['node']} (site {d['site']})  walkway {d['software']}  {d['at']}",
                  style="bold")
    console.print(f"config {d['config_file']}  sha256 {d['config_sha256'][:12]}")
    edge, bridge = d["edge"], d["bridge"]
    console.print(f"edge:    {edge['state']} (heartbeat {_age(edge['age_s'])})")
    link = "connected" if bridge.get("connected") else "NOT connected"
    if bridge["state"] == "down":
        link = "bridge not running"
    error = bridge.get("last_error") if not bridge.get("connected") else ""
    console.print(f"broker:  {link} {bridge.get('url', '')} (bridge heartbeat "
                  f"{_age(bridge['age_s'])}){'  ' + error if error else ''}")
    sources = Table(title="sources", title_justify="left")
    for col in ("source", "type", "state", "status age", "reason"):
        sources.add_column(col)
    for s in d["sources"]:
        sources.add_row(*map(Text, (s["name"], s["type"], s["state"], _age(s["age_s"]),
                                     s["reason"])))
    console.print(sources)
    counts = Table(title="counts", title_justify="left")
    for col in ("sensor", "direction", "last 5 min", "last 15 min"):
        counts.add_column(col, justify="right" if col.startswith("last") else "left")
    for c in d["counts"]:
        counts.add_row(c["sensor"], c["direction"], str(c["last_5_min"]), str(c["last_15_min"]))
    if not d["counts"]:
        counts.add_row("(none in the last 15 min)", "", "", "")
    console.print(counts)
    st = d["store"]
    oldest = "none" if st["oldest_unsent"] is None else (
        f"{st['oldest_unsent']} ({_age(st['oldest_unsent_age_s'])})")
    console.print(f"outbox:  {st['outbox_depth']} unsent, oldest {oldest}, "
                  f"{st['dropped_bins']} dropped, store {st['size_mb']:.1f} MB")
    sg = d["signage"]
    console.print(f"signage: {sg['state']}{' - ' + sg['reason'] if sg.get('reason') else ''}"
                  f", emergency {'ON' if sg['emergency'] else 'off'}")
    dk = d["disk"]
    console.print(f"disk:    {dk['free_mb'] / 1024:.1f} GB free of {dk['total_mb'] / 1024:.1f} GB"
                  f" ({dk['free_pct']} %)")
    ck = d["clock"]
    synced = {True: "synchronised", False: "NOT synchronised", None: "unknown"}[ck["synced"]]
    console.print(f"clock:   {synced} ({ck['source']})")
    cert = d.get("certificate")
    if cert is None:
        console.print("cert:    none (plain mqtt://)")
    elif "error" in cert:
        console.print(f"cert:    {cert['file']}: {cert['error']}")
    else:
        console.print(f"cert:    {Path(cert['file']).name} expires {cert['not_after']} "
                      f"({cert['days_left']:.0f} days)")


def _status(args: argparse.Namespace) -> int:
    config, store = _open(args)
    try:
        data = status_data(config, store, store.clock())
    finally:
        store.close()
    if args.json:
        _dump(data)
    else:
        render_status(data, _console())
    return 0


def _selftest(args: argparse.Namespace) -> int:
    from edge.config import load_config
    from edge.selftest import FAIL, Check, run_checks
    from edge.store import Store
    from walkway.errors import WalkwayError

    checks: list[Check] = []
    try:
        config = load_config(args.config)
        checks.append(Check("config", "PASS", f"{config.file} (sha256 {config.sha256[:12]})"))
        store = Store.from_config(config, clock=_clock(), durable=False)
    except WalkwayError as exc:
        checks.append(Check("config" if not checks else "store", FAIL,
                            str(exc).splitlines()[0]))
    else:
        try:
            checks += run_checks(config, store, store.clock(), broker_timeout=args.timeout)
        finally:
            store.close()
    failed = sum(c.status == FAIL for c in checks)
    if args.json:
        _dump({"ok": failed == 0, "checks": [c.as_dict() for c in checks]})
    else:
        for c in checks:
            print(f"{c.status} {c.name:<16} {c.detail}")
        counts = {s: sum(c.status == s for c in checks) for s in ("PASS", "FAIL", "SKIP")}
        print(f"selftest: {counts['FAIL']} FAIL, {counts['PASS']} PASS, {counts['SKIP']} SKIP")
    return 1 if failed else 0


def _outbox(args: argparse.Namespace) -> int:
    from edge.health import outbox

    config, store = _open(args)
    try:
        data = {"node": config.node.id, **outbox(store, store.clock())}
        data["delivered"] = store.stats().delivered
        if args.resend_since:
            try:
                since = parse_iso(args.resend_since)
            except ValueError:
                from walkway.errors import UsageError

                raise UsageError(f"--resend-since: expected an ISO 8601 UTC time, got "
                                 f"{args.resend_since!r}") from None
            data["resent"] = store.resend_since(since)
            data["resent_since"] = iso_z(since)
            data["outbox_depth"] = store.stats().depth
    finally:
        store.close()
    if args.json:
        _dump(data)
        return 0
    oldest = "none" if data["oldest_unsent"] is None else (
        f"{data['oldest_unsent']} ({_age(data['oldest_unsent_age_s'])})")
    if "resent" in data:
        print(f"resent: {data['resent']} delivered bins since {data['resent_since']} are back "
              "in the outbox")
    print(f"outbox: {data['outbox_depth']} unsent bins, oldest {oldest}")
    print(f"open:   {data['open_bins']} bins still counting")
    print(f"sent:   {data['delivered']} delivered bins kept")
    print(f"lost:   {data['dropped_bins']} dropped (disk cap), {data['late_dropped']} late")
    print(f"store:  {data['size_mb']:.1f} MB")
    return 0


def _watch(args: argparse.Namespace) -> int:
    from edge.health import sources
    from edge.health_config import health_config

    config, store = _open(args)
    console = _console()
    shown = 0
    try:
        while True:
            now = store.clock()
            stale = health_config(config).stale_after_s
            frame = {"at": iso_z(now), "sources": sources(config, store, now, stale),
                     "counts": recent_counts(store, now, (1, 5))}
            if args.json:
                print(json.dumps(frame, ensure_ascii=False), flush=True)
            else:
                _render_watch(frame, console)
            shown += 1
            if args.count and shown >= args.count:
                return 0
            time.sleep(args.interval)  # the refresh rate a person reads at
    except KeyboardInterrupt:
        return 0
    finally:
        store.close()


def _render_watch(frame: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"live counts {frame['at']}", title_justify="left")
    for col in ("sensor", "direction", "last 1 min", "last 5 min"):
        table.add_column(col, justify="right" if col.startswith("last") else "left")
    for c in frame["counts"]:
        table.add_row(c["sensor"], c["direction"], str(c["last_1_min"]), str(c["last_5_min"]))
    states = ", ".join(f"{s['name']} {s['state']}" for s in frame["sources"]) or "no sources"
    console.print(table)
    console.print(f"sources: {states}")


def _install(args: argparse.Namespace) -> int:
    from edge.systemd_install import (
        COLLECTOR_UNITS,
        NODE_UNITS,
        install,
        walkway_executable,
    )

    units = COLLECTOR_UNITS if args.collector else NODE_UNITS
    report = install(root=Path(args.root), exe=args.walkway or walkway_executable(),
                     config=str(Path(args.config).absolute()), units=units,
                     broker=args.broker, enable=args.enable, dry_run=args.dry_run)
    if args.json:
        _dump(report)
    else:
        for f in report["files"]:
            print(f"{'would write' if args.dry_run else 'wrote'} {f}")
        print(f"verify: {report['verify_output']}")
        for step in report["ran"]:
            print(f"ran: {step}")
    return 0 if report["verified"] is not False else 1


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=os.environ.get("WALKWAY_CONFIG", DEFAULT_CONFIG),
                   help=f"the node's config (default: $WALKWAY_CONFIG or {DEFAULT_CONFIG})")
    p.add_argument("--json", action="store_true", help="plain JSON for scripts")


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    status = subparsers.add_parser("status", help="one screen: sources, counts, outbox, "
                                   "broker, signage, disk, clock, certificate")
    _config_arg(status)
    status.set_defaults(handler=_status)

    selftest = subparsers.add_parser("selftest", help="check camera, BLE, serial, disk, clock, "
                                     "broker, certificate: PASS/FAIL each, exit 1 on failure")
    _config_arg(selftest)
    selftest.add_argument("--timeout", type=float, default=3.0,
                          help="seconds to wait for the broker (default 3)")
    selftest.set_defaults(handler=_selftest)

    out = subparsers.add_parser("outbox", help="unsent bins: depth, oldest; --resend-since")
    _config_arg(out)
    out.add_argument("--resend-since", metavar="TIME",
                     help="put delivered bins from TIME (ISO 8601 UTC) on back in the outbox")
    out.set_defaults(handler=_outbox)

    watch = groups["sensors"].add_parser("watch", help="live counts per sensor and direction")
    _config_arg(watch)
    watch.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    watch.add_argument("--count", type=int, default=0, help="stop after N refreshes (0: never)")
    watch.set_defaults(handler=_watch)

    inst = subparsers.add_parser("install-systemd", help="install the systemd units, the "
                                 "walkway user and its polkit rule")
    inst.add_argument("--config", default=os.environ.get("WALKWAY_CONFIG", DEFAULT_CONFIG),
                      help=f"config path the units run with (default {DEFAULT_CONFIG})")
    inst.add_argument("--root", default="/", help="install under this root (default /; "
                      "anything else only writes files)")
    inst.add_argument("--walkway", help="the walkway executable (default: the one running)")
    inst.add_argument("--collector", action="store_true",
                      help="install the cloud collector unit instead of the node units")
    inst.add_argument("--broker", help="collector: the broker URL its unit uses")
    inst.add_argument("--enable", action="store_true", help="systemctl enable --now the units")
    inst.add_argument("--dry-run", action="store_true", help="print what would be written")
    inst.add_argument("--json", action="store_true", help="plain JSON for scripts")
    inst.set_defaults(handler=_install)
