"""`walkway sim`: run a whole virtual walkway on this machine and write a report."""

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_SCENARIO = "sapporo"
DEFAULT_OUT = Path("sim-out")


def simulate(scenario_name: str = DEFAULT_SCENARIO, *, out: Path = DEFAULT_OUT,
             nodes: int | None = None, minutes: float | None = None,
             speed: float | None = None, faults: str | None = None,
             broker: str | None = None, live: bool | None = None,
             city_port: int = 8150, history_days: int = 0,
             seed: int | None = None) -> dict:
    """Run a scenario end to end; returns the report (also in OUT/report.json)."""
    from simulator import page
    from simulator.live import PlainView, make_view
    from simulator.overrides import apply_overrides
    from simulator.runner import Runner
    from simulator.scenario import load_scenario
    from simulator.signage import Snapshots

    t0 = time.monotonic()
    scenario = apply_overrides(load_scenario(scenario_name), nodes=nodes, minutes=minutes,
                               speed=speed, faults=faults, seed=seed)
    out = Path(out).resolve()
    title = f"walkway sim: {scenario.name}"
    view = make_view(title) if live is None else (make_view(title) if live else PlainView())
    runner = Runner(scenario, out, broker_url=broker, view=view)
    signage = Snapshots(runner)
    phones = None
    # The children run in their own sessions (a Ctrl-C must not kill them out of order), so
    # SIGTERM (a CI timeout, systemd) has to reach them through our cleanup below.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupted) if main else None
    try:
        if scenario.speed > 60:
            view.say(f"speed {scenario.speed:g}x: a 2-core machine may fall behind; late adverts"
                     " and frames show up as counting error")
        runner.setup()
        runner.start()
        view.say(f"{len(runner.nodes)} nodes running; {scenario.minutes:g} simulated minutes at"
                 f" {scenario.speed:g}x (about {scenario.minutes * 60 / scenario.speed:.0f} s)")
        if scenario.checkins is not None:
            from simulator.phones import Phones

            phones = Phones(runner)
            phones.start()
        runner.loop(signage.poll if phones is None else _both(signage.poll, phones.poll))
        runner.drain()
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        signage.close_window()
        if phones is not None:
            phones.close()
            runner.checkins = phones.summary()
        runner.stop()
        view.close()
    signage.finish()
    from simulator import city_app

    runner.city = city_app.prepare(scenario, out, city_port, history_days)
    if scenario.snow_plan is not None:
        from simulator.snow_report import make_snow_plan

        runner.snow_plan = make_snow_plan(runner)
    if history_days:
        city_app.add_history(scenario, runner.city, history_days)
    report = page.build(runner, time.monotonic() - t0)
    return report


def _both(first: "Callable[[], None]", second: "Callable[[], None]") -> "Callable[[], None]":
    def poll() -> None:
        first()
        second()

    return poll


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _summary(report: dict, out: Path) -> str:
    d = report["delivery"]
    lines = [f"walkway sim: {report['scenario']['title']} ({report['wall_seconds']:g} s)"]
    for t, v in sorted(report["by_type"].items()):
        if v.get("error_pct") is not None:
            what = f"error {v['error_pct']:+.1f} %"
            if v.get("error_pct_outside_faults") is not None:
                what += f" ({v['error_pct_outside_faults']:+.1f} % outside faults)"
        elif v.get("mean_abs_error") is not None:
            what = f"mean abs error {v['mean_abs_error']:.2f}"
        else:
            what = "nothing to compare"
        lines.append(f"  {t:9} ({'/'.join(v['modes'])}): true {v['true']:g} counted"
                     f" {v['counted']:g} -> {what}")
    lat = d["latency_s"]
    lines.append(f"  delivery: {d['in_collector_exactly_once']}/{d['sealed_bins']} sealed bins in"
                 f" the collector exactly once ({d['completeness_pct']} %), latency p50"
                 f" {lat['p50']} s p90 {lat['p90']} s p99 {lat['p99']} s")
    if d.get("dropped_by_disk_cap"):
        lines.append(f"  LOST: {d['dropped_by_disk_cap']} bins dropped by the disk cap before "
                     "sending")
    zone = report["scenario"].get("timezone", "UTC")
    for f in report["faults"]:
        lines.append(f"  fault {f['kind']} on {f['target'] or '-'}: {f['state']}"
                     f" {f['start_local'][11:16]}-{f['end_local'][11:16]} {zone}"
                     f" {f['note']}".rstrip())
    snow = report.get("snow_plan")
    if snow:
        crews = "; ".join(f"crew {c['crew']} {c['segments']} segments {c['cleared_m']} m"
                          f" {c['minutes']} min" for c in snow["crews"])
        lines.append(f"  snow plan: {snow['planned']}/{snow['segments_total']} segments need"
                     f" clearing, {snow['not_in_shift']} not in the shift; {crews};"
                     f" {snow['width_note']}; walkers unknown on"
                     f" {snow['walkers_unknown_segments']} segments")
    ck = report.get("checkins")
    if ck:
        refused = ", ".join(f"{k} {v}" for k, v in ck["refused"].items()) or "none"
        lines.append(f"  check-ins: {ck['phones']} phones, {ck['awarded']} awarded"
                     f" ({ck['points']} points), refused: {refused}; {ck['no_checkin']} found"
                     " no code")
    if report.get("city"):
        lines.append(f"city dashboard: {report['city']['command']}")
    lines.append(f"report: {out / 'report.html'}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if not args.verbose:
        # Child processes log to files; the simulator's own INFO lines would break the view.
        logging.getLogger().setLevel(logging.WARNING)
    report = simulate(args.scenario, out=out, nodes=args.nodes, minutes=args.minutes,
                      speed=args.speed, faults=args.faults, broker=args.broker, seed=args.seed,
                      live=False if args.plain else None, city_port=args.city_port,
                      history_days=args.history)
    print(_summary(report, out.resolve()), flush=True)
    if args.serve and sys.stdin.isatty() and sys.stdout.isatty():
        from simulator import city_app

        city_app.serve(report["city"])  # until Ctrl-C: someone is there to look at it
    elif args.serve:  # CI, fresh-check, a script: finish, and say how to look later
        city = report["city"]
        print(f"city dashboard not kept running (no terminal); to browse this run:"
              f" walkway city serve --db {city['db']} --places {city['places']}"
              f" --users {city['users']} --port {city['port']}", flush=True)
    d = report["delivery"]
    ok = d["completeness_pct"] == 100.0 and d.get("export_matches", False)
    return 0 if ok else 1


def _sim_history(args: argparse.Namespace) -> int:
    from cloud_bridge.collector_store import open_storage
    from simulator.history import snow_pattern, write_history
    from simulator.places import write_places
    from simulator.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    storage = open_storage(args.db)
    try:
        n = write_history(storage, scenario, args.days)
    finally:
        storage.close()
    write_places(scenario, args.places_out, snow_pattern(scenario, args.days))
    print(f"{args.db}: {n} simulated bins over {args.days} days; places: {args.places_out}")
    return 0


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    p = subparsers.add_parser(
        "sim", help="simulate a whole walkway (nodes, sensors, broker, faults) and report",
        description="Run every node's real edge and bridge, a broker, the collector and the "
        "signage against simulated pedestrians, inject faults, and write OUT/report.html.")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, metavar="NAME|FILE",
                   help=f"built-in scenario name or a TOML file (default {DEFAULT_SCENARIO})")
    p.add_argument("--nodes", type=int, metavar="N",
                   help="use the first N nodes (more: suburban station fronts are added)")
    p.add_argument("--minutes", type=float, metavar="M", help="simulated minutes")
    p.add_argument("--speed", type=float, metavar="X",
                   help="simulated seconds per wall second")
    p.add_argument("--seed", type=int, metavar="N",
                   help="replaces the scenario's seed (pedestrians, faults' noise, devices)")
    p.add_argument("--faults", metavar="LIST",
                   help="KIND[@NODE][:AT_MIN[+MINUTES]],... replaces the scenario's faults;"
                   " 'none' for none")
    p.add_argument("--broker", metavar="URL",
                   help="use this mqtt:// broker instead of starting a local mosquitto")
    p.add_argument("--out", default=str(DEFAULT_OUT), metavar="DIR",
                   help=f"output folder (default ./{DEFAULT_OUT}/)")
    p.add_argument("--plain", action="store_true",
                   help="plain progress lines instead of the live table")
    p.add_argument("--serve", action="store_true",
                   help="after the run, serve the city dashboard on its collector until Ctrl-C")
    p.add_argument("--city-port", type=int, default=8150, metavar="P",
                   help="port of the city dashboard (default 8150)")
    p.add_argument("--history", type=int, default=0, metavar="DAYS",
                   help="serve the run plus DAYS of simulated history (OUT/city.db)")
    p.set_defaults(handler=_run)


    hist = subparsers.add_parser(
        "sim-history", help="write weeks of simulated counts and the scenario's places file",
        description="Draw DAYS of counts from a scenario's demand model into a collector"
        " database (for the city dashboard's demos, tests and benchmarks); labelled simulated.")
    hist.add_argument("--db", required=True,
                      help="collector database: a SQLite file path or a postgresql:// URL")
    hist.add_argument("--scenario", default=DEFAULT_SCENARIO, help="scenario NAME|FILE")
    hist.add_argument("--days", type=int, default=35)
    hist.add_argument("--places-out", type=Path, required=True,
                      help="write the scenario's places file (with its snow days) here")
    hist.set_defaults(handler=_sim_history)
