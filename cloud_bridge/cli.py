"""Commands: `walkway bridge run`, `walkway collector run`, `walkway collector export`."""

import argparse
import csv
import json
import sys
from pathlib import Path

from walkway.errors import StoreError
from walkway.timeutil import iso_z

EXPORT_HEADER = ["node", "sensor", "start", "seconds", "direction", "count"]


def _bridge_run(args: argparse.Namespace) -> int:
    from cloud_bridge.bridge import run_bridge
    from edge.config import load_config

    return run_bridge(load_config(args.config))


def _collector_run(args: argparse.Namespace) -> int:
    from cloud_bridge.collector import Collector, run_collector
    from cloud_bridge.collector_store import SqliteCollectorStorage
    from cloud_bridge.tls import tls_context_from_files

    tls = None
    if args.tls_ca or args.tls_cert:
        tls = tls_context_from_files(args.tls_ca, args.tls_cert, args.tls_key)
    flows = {} if args.flows_every is None else {"flows_every_s": args.flows_every}
    collector = Collector(args.broker, SqliteCollectorStorage(args.db), tls_context=tls,
                          client_id=args.client_id, **flows)
    return run_collector(collector)


def _collector_export(args: argparse.Namespace) -> int:
    from cloud_bridge.collector_store import SqliteCollectorStorage

    if not Path(args.db).exists():
        raise StoreError(f"{args.db}: no such collector database")
    storage = SqliteCollectorStorage(args.db)
    try:
        rows = storage.counts() if args.kind == "counts" else storage.measures()
        if args.format == "json":
            out = [{**r, "start": iso_z(r["start"])} for r in rows]
            for r in out:
                r.pop("version", None)
            json.dump(out, sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
        else:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            if args.kind == "counts":
                writer.writerow(EXPORT_HEADER)
                for r in rows:
                    writer.writerow([r["node"], r["sensor"], iso_z(r["start"]), r["seconds"],
                                     r["direction"], r["count"]])
            else:
                writer.writerow(["node", "sensor", "start", "seconds", "quantity", "n", "min",
                                 "mean", "max"])
                for r in rows:
                    writer.writerow([r["node"], r["sensor"], iso_z(r["start"]), r["seconds"],
                                     r["quantity"], r["n"], r["min"], r["mean"], r["max"]])
    finally:
        storage.close()
    return 0


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
    crun.add_argument("--db", required=True, help="collector SQLite database file")
    crun.add_argument("--client-id", help="MQTT client id (default: random)")
    crun.add_argument("--flows-every", type=float, metavar="S",
                      help="seconds between each site's retained flows messages "
                      "(docs/wire.md gives the default)")
    crun.add_argument("--tls-ca", type=Path, help="CA certificate for mqtts://")
    crun.add_argument("--tls-cert", type=Path, help="collector client certificate")
    crun.add_argument("--tls-key", type=Path, help="collector client private key")
    crun.set_defaults(handler=_collector_run)
    export = col_sub.add_parser("export", help="write stored bins to stdout")
    export.add_argument("--db", required=True, help="collector SQLite database file")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--kind", choices=["counts", "measures"], default="counts",
                        help="pedestrian counts (default) or weather/snow measurements")
    export.set_defaults(handler=_collector_export)
