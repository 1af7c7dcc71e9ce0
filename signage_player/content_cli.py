"""Commands: `walkway content build|lint` (docs/content.md). pygame is imported by handlers."""

import argparse
import sys
from datetime import datetime

from walkway.errors import UsageError


def _now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--now: expected an ISO 8601 time, got {text!r}") from exc
    if when.tzinfo is None:
        raise UsageError(f"--now: expected a time with its offset, e.g. +09:00, got {text!r}")
    return when


def _sizes(values: list[str] | None) -> tuple[tuple[int, int], ...]:
    from signage_player.authoring.build import DEFAULT_SIZES
    from signage_player.offscreen import parse_size

    try:
        return tuple(parse_size(v) for v in values) if values else DEFAULT_SIZES
    except ValueError as exc:
        raise UsageError(f"--size: {exc}") from exc


def _quiet() -> None:
    import os

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def _build(args: argparse.Namespace) -> int:
    _quiet()
    from signage_player.authoring.build import build
    from signage_player.signing import load_private_key

    key = load_private_key(args.key) if args.key else None
    package = build(args.src, args.out, key=key, now=_now(args.now), sizes=_sizes(args.size))
    signed = "signed" if key else "unsigned"
    print(f"built {package.id} {package.version} ({package.digest[:12]}, {signed}) in {args.out}")
    return 0


def _lint(args: argparse.Namespace) -> int:
    _quiet()
    from signage_player.authoring.build import lint

    problems = lint(args.src, now=_now(args.now), sizes=_sizes(args.size))
    for problem in problems.items:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{args.src}: no problems")
    return 2 if problems else 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="the content source folder (package.toml, scenes/, ...)")
    p.add_argument("--size", action="append",
                   help="WxH the signs show (repeat; default 1920x1080 and 1080x1920)")
    p.add_argument("--now", help="build time, ISO 8601 with offset (default: now); "
                   "calendar events that ended before it are dropped")


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    content = subparsers.add_parser("content", help="author content packages for the signs")
    sub = content.add_subparsers(dest="content_command", metavar="COMMAND")
    build = sub.add_parser("build", help="check a source folder and write the package folder")
    _common(build)
    build.add_argument("--out", required=True, help="package folder to write (replaced whole)")
    build.add_argument("--key", help="content signing key (walkway provision content-key)")
    build.set_defaults(handler=_build)
    lint = sub.add_parser("lint", help="report every problem in a source folder, one a line")
    _common(lint)
    lint.set_defaults(handler=_lint)
