"""Commands: `walkway config validate`, `walkway edge run`, `walkway calibrate`."""

import argparse
from pathlib import Path

from edge.config import load_config
from walkway.errors import UsageError


def _validate(args: argparse.Namespace) -> int:
    load_config(args.file)
    return 0


def _edge_run(args: argparse.Namespace) -> int:
    from edge.daemon import run_edge

    return run_edge(load_config(args.config))


def _calibrate(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() != ".png":
        raise UsageError(f"--out {args.out}: expected a .png file name")
    config = load_config(args.config)
    cameras = [s for s in config.sources if s.type == "camera"]
    if args.source:
        cameras = [s for s in cameras if s.name == args.source]
    if not cameras:
        which = f"named {args.source!r} " if args.source else ""
        raise UsageError(f"{args.config}: no camera source {which}in [[sources]]")
    from sensors.camera.calibrate import calibrate_still

    out = calibrate_still(cameras[0].options, args.out)
    print(f"wrote {out} ({cameras[0].name}: lines and ROI drawn)")
    return 0


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

    cal = subparsers.add_parser(
        "calibrate",
        help="write one local still with the camera's lines and ROI drawn on it",
        description="Grab one frame from a camera source in a node config and draw its lines "
        "and region of interest on it: the only command that ever writes a camera frame.",
    )
    cal.add_argument("--config", required=True, type=Path, help="node config (TOML)")
    cal.add_argument("--out", required=True, type=Path, help="PNG file to write")
    cal.add_argument("--source", help="camera source name (default: the first camera)")
    cal.set_defaults(handler=_calibrate)
