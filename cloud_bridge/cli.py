"""Commands: `walkway bridge run`, `walkway collector run`, `walkway collector export`."""

import argparse
import contextlib
import csv
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from walkway.timeutil import iso_z

EXPORT_HEADER = ["site", "node", "place", "sensor", "direction", "figure", "start", "start_local",
                 "seconds", "count"]
MEASURE_HEADER = ["site", "node", "place", "sensor", "quantity", "start", "start_local", "seconds",
                  "n", "min", "mean", "max"]
DB_HELP = "collector database: a SQLite file path or a postgresql:// URL"


def _bridge_run(args: argparse.Namespace) -> int:
    from cloud_bridge.bridge import run_bridge
    from edge.config import load_config

    return run_bridge(load_config(args.config))


def _collector_run(args: argparse.Namespace) -> int:
    from cloud_bridge.collector import Collector, run_collector
    from cloud_bridge.collector_store import open_storage
    from cloud_bridge.tls import tls_context_from_files

    tls = None
    if args.tls_ca or args.tls_cert:
        tls = tls_context_from_files(args.tls_ca, args.tls_cert, args.tls_key)
    flows = {} if args.flows_every is None else {"flows_every_s": args.flows_every}
    collector = Collector(args.broker, open_storage(args.db), tls_context=tls,
                          client_id=args.client_id, **flows)
    return run_collector(collector)


def export_rows(storage, kind: str, places_file: Path | None) -> tuple[list[str], Iterator[dict]]:
    """Rows for `collector export`: site and place columns, UTC and city-local start times,
    and each count's figure (people, bound, detail, signage: walkway.places.figure_of)."""
    from walkway.places import figure_of, load_places
    from walkway.timeutil import local_iso

    model = load_places(places_file)

    def rows() -> Iterator[dict]:
        source = storage.counts() if kind == "counts" else storage.measures()
        for r in source:
            r.pop("version", None)
            r["place"] = model.place_label(r["site"], r["node"], r["sensor"])
            if kind == "counts":
                r["figure"] = figure_of(r["sensor"], r["direction"])
            r["start_local"] = local_iso(r["start"], model.timezone)
            r["start"] = iso_z(r["start"])
            yield r

    return (EXPORT_HEADER if kind == "counts" else MEASURE_HEADER), rows()


def _collector_export(args: argparse.Namespace) -> int:
    from cloud_bridge.collector_store import open_storage

    storage = open_storage(args.db, must_exist=True)
    try:
        header, rows = export_rows(storage, args.kind, args.places)
        with stdout_closed_quietly():
            if args.format == "json":
                json.dump([{k: r[k] for k in header} for r in rows], sys.stdout,
                          ensure_ascii=False)
                sys.stdout.write("\n")
            else:
                writer = csv.writer(sys.stdout, lineterminator="\n")
                writer.writerow(header)
                for r in rows:
                    writer.writerow([r[k] for k in header])
            sys.stdout.flush()
    finally:
        storage.close()
    return 0


@contextlib.contextmanager
def stdout_closed_quietly() -> Iterator[None]:
    """`export | head`: a reader that stops early is not an error (no BrokenPipeError)."""
    try:
        yield
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that is quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    bridge = subparsers.add_parser("bridge", help="the node's uplink: outbox -> MQTT")
    bridge_sub = bridge.add_subparsers(dest="bridge_command", metavar="COMMAND")
    run = bridge_sub.add_parser("run", help="send sealed bins to the broker until SIGTERM")
    run.add_argument("--config", required=True, help="path to the node's TOML config")
    run.set_defaults(handler=_bridge_run)

    collector = subparsers.add_parser("collector", help="the cloud collector")
    col_sub = collector.add_subparsers(dest="collector_command", metavar="COMMAND")
    crun = col_sub.add_parser("run", help="store every node's counts, then acknowledge them")
    crun.add_argument("--broker", required=True, help="mqtt://HOST:PORT or mqtts://HOST:PORT")
    crun.add_argument("--db", required=True, help=DB_HELP)
    crun.add_argument("--client-id", help="MQTT client id (default: random)")
    crun.add_argument("--flows-every", type=float, metavar="S",
                      help="seconds between each site's retained flows messages "
                      "(docs/wire.md gives the default)")
    crun.add_argument("--tls-ca", type=Path, help="CA certificate for mqtts://")
    crun.add_argument("--tls-cert", type=Path, help="collector client certificate")
    crun.add_argument("--tls-key", type=Path, help="collector client private key")
    crun.set_defaults(handler=_collector_run)
    export = col_sub.add_parser("export", help="write stored bins to stdout")
    export.add_argument("--db", required=True, help=DB_HELP)
    export.add_argument("--places", type=Path, help="places file: fills the place column")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--kind", choices=["counts", "measures"], default="counts",
                        help="pedestrian counts (default) or weather/snow measurements")
    export.set_defaults(handler=_collector_export)
