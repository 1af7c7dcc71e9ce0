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

from walkway.records import PLAY_SOURCE
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


def recent_counts(store: Any, now: float, minutes: tuple[int, ...] = (5, 15), *,
                  plays: bool = False) -> list[dict]:
    """Per sensor and direction: the count in the last N minutes (bins started since).

    Pedestrian counts, or with `plays` the sign's proof-of-play rows (source "signage"):
    scenes shown are not people.
    """
    longest = max(minutes) * 60
    rows = [r for r in store.count_rows_since(int(now - longest))
            if (r[0] == PLAY_SOURCE) == plays]
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
    data["plays"] = recent_counts(store, now, plays=True)
    data["config_outdated"] = config_outdated(config, data)
    return data


def config_outdated(config: Any, data: dict[str, Any]) -> list[str]:
    """Running processes whose config (digest recorded at start) differs from the file's."""
    return [name for name in ("edge", "bridge")
            if data[name]["state"] != "down" and data[name].get("config_sha256")
            and data[name]["config_sha256"] != config.sha256]


def _size(mb: float) -> str:
    if mb >= 1024:
        return f"{mb / 1024:.1f} GB"
    return f"{mb:.1f} MB" if mb >= 1 else f"{mb * 1024:.0f} KB"


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
    for name in d.get("config_outdated", []):
        console.print(f"WARNING: the {name} runs an older config (sha256 "
                      f"{d[name]['config_sha256'][:12]}) than the file: systemctl restart "
                      f"walkway-{name}", style="bold red")
    edge, bridge = d["edge"], d["bridge"]
    reason = f" - {edge['reason']}" if edge["state"] != "up" and edge.get("reason") else ""
    console.print(f"edge:    {edge['state']} (heartbeat {_age(edge['age_s'])}){reason}")
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
    if d.get("plays"):
        plays = Table(title="proof of play (scenes shown)", title_justify="left")
        for col in ("scene", "last 5 min", "last 15 min"):
            plays.add_column(col, justify="right" if col.startswith("last") else "left")
        for c in d["plays"]:
            plays.add_row(c["direction"].removeprefix("play."), str(c["last_5_min"]),
                          str(c["last_15_min"]))
        console.print(plays)
    st = d["store"]
    oldest = "none" if st["oldest_unsent"] is None else (
        f"{st['oldest_unsent']} ({_age(st['oldest_unsent_age_s'])})")
    console.print(f"outbox:  {st['outbox_depth']} unsent, oldest {oldest}, "
                  f"{st['dropped_bins']} dropped, store {st['size_mb']:.1f} MB")
    sg = d["signage"]
    content = sg.get("content") or {}
    plays = (f", playing {content.get('id')} {content.get('version')} since "
             f"{content.get('since') or '?'}" if content else "")
    console.print(f"signage: {sg['state']}{' - ' + sg['reason'] if sg.get('reason') else ''}"
                  f", emergency {'ON' if sg['emergency'] else 'off'}{plays}")
    dk = d["disk"]
    console.print(f"disk:    {_size(dk['free_mb'])} free of {_size(dk['total_mb'])}"
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
    from edge.selftest import FAIL, SKIP, Check, check_clock, config_checks, run_checks
    from edge.store import Store
    from walkway.errors import WalkwayError

    config, checks = config_checks(args.config)
    if config is None:
        checks += [check_clock(),
                   Check("others", SKIP, "store, disk, sources, broker, signage: need a valid "
                         "config")]
    else:
        store, problem = None, ""
        try:
            store = Store.from_config(config, clock=_clock(), durable=False)
        except WalkwayError as exc:
            problem = str(exc).splitlines()[0]
        clock = store.clock if store is not None else _clock()
        try:
            checks += run_checks(config, store, clock(), broker_timeout=args.timeout,
                                 store_problem=problem)
        finally:
            if store is not None:
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

    since = None
    if args.resend_since:
        try:
            since = parse_iso(args.resend_since)
        except ValueError:
            from walkway.errors import UsageError

            raise UsageError(f"--resend-since: expected an ISO 8601 UTC time, got "
                             f"{args.resend_since!r}") from None
    config, store = _open(args)
    try:
        resent = store.resend_since(since) if since is not None else None
        # Everything read after the resend: the outbox as it is now, not as it was.
        data = {"node": config.node.id, **outbox(store, store.clock())}
        data["delivered"] = store.delivered_count()
        if resent is not None:
            data["resent"] = resent
            data["resent_since"] = iso_z(since)
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


def bin_counts(store: Any, now: float, width: int, last: int = 5) -> list[dict]:
    """Per sensor and direction: the current (partial) bin, the previous complete bin and
    the `last` complete bins before the current one. Whole bins only: a "last minute" cut
    from bins would drop to zero at every bin boundary."""
    from walkway.timeutil import bin_start

    current = bin_start(now, width)
    rows = store.count_rows_since(current - last * width)
    table: dict[tuple[str, str], dict] = {}
    for source, sensor, direction, start, count in rows:
        if source == PLAY_SOURCE:
            continue
        entry = table.setdefault((sensor, direction), {
            "sensor": sensor, "direction": direction, "current_bin": 0, "previous_bin": 0,
            f"last_{last}_bins": 0})
        if start == current:
            entry["current_bin"] += count
        else:
            entry[f"last_{last}_bins"] += count
            if start == current - width:
                entry["previous_bin"] += count
    return list(table.values())


def _watch(args: argparse.Namespace) -> int:
    from edge.health import sources
    from edge.health_config import health_config
    from walkway.timeutil import bin_start

    config, store = _open(args)
    width = config.store.bin_seconds
    live = None
    shown = 0
    try:
        while True:
            now = store.clock()
            stale = health_config(config).stale_after_s
            frame = {"at": iso_z(now), "bin_seconds": width,
                     "current_bin_start": iso_z(bin_start(now, width)),
                     "sources": sources(config, store, now, stale),
                     "counts": bin_counts(store, now, width)}
            if args.json:
                print(json.dumps(frame, ensure_ascii=False), flush=True)
            elif live is None:
                from rich.live import Live

                # Redrawn in place (cursor movement), so a terminal or a tmux pane shows one
                # table, not a new one per refresh.
                live = Live(_watch_table(frame), console=_console(), auto_refresh=False,
                            redirect_stdout=False, redirect_stderr=False)
                live.start(refresh=True)
            else:
                live.update(_watch_table(frame), refresh=True)
            shown += 1
            if args.count and shown >= args.count:
                return 0
            time.sleep(args.interval)  # the refresh rate a person reads at
    except KeyboardInterrupt:
        return 0
    finally:
        if live is not None:
            live.stop()
        store.close()


def _watch_table(frame: dict[str, Any]) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    width = frame["bin_seconds"]
    since = frame["current_bin_start"][11:19]
    table = Table(title=f"live counts {frame['at']} (bins of {width} s, UTC)",
                  title_justify="left")
    for col in ("sensor", "direction", f"since {since}", "previous bin", "last 5 bins"):
        table.add_column(col, justify="left" if col in ("sensor", "direction") else "right")
    for c in frame["counts"]:
        table.add_row(c["sensor"], c["direction"], str(c["current_bin"]), str(c["previous_bin"]),
                      str(c["last_5_bins"]))
    states = ", ".join(f"{s['name']} {s['state']}" for s in frame["sources"]) or "no sources"
    return Group(table, Text(f"sources: {states}"))


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
