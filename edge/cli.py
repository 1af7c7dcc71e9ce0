"""Commands: `walkway config validate`, `walkway edge run`."""

import argparse

from edge.config import load_config


def _validate(args: argparse.Namespace) -> int:
    load_config(args.file)
    return 0


def _edge_run(args: argparse.Namespace) -> int:
    from edge.daemon import run_edge

    return run_edge(load_config(args.config))


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    config = subparsers.add_parser("config", help="node config tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="COMMAND")
    validate = config_sub.add_parser(
        "validate", help="check a node config; prints nothing and exits 0 when valid"
    )
    validate.add_argument("file", help="path to the node's TOML config")
    validate.set_defaults(handler=_validate)

    edge = subparsers.add_parser("edge", help="the node daemon")
    edge_sub = edge.add_subparsers(dest="edge_command", metavar="COMMAND")
    run = edge_sub.add_parser("run", help="run sources, aggregation and the store until SIGTERM")
    run.add_argument("--config", required=True, help="path to the node's TOML config")
    run.set_defaults(handler=_edge_run)
