"""Commands: `walkway signage run|render|install|emergency` (see docs/signage.md).

No pygame import here: handlers import what they need.
"""

import argparse
import sys
from pathlib import Path

from walkway.errors import ConfigError, UsageError


def _quiet_pygame() -> None:
    """pygame prints a banner on import; a crew tool's output should be only its own."""
    import os

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def _signage_config(path: str) -> tuple[object, object]:
    from edge.config import load_config

    config = load_config(path)
    section = config.section("signage")
    if section is None:
        raise ConfigError([f"{config.file}: signage: expected a [signage] section (required)"])
    return config, section


def _run(args: argparse.Namespace) -> int:
    _quiet_pygame()
    from signage_player.player import run_player

    config, cfg = _signage_config(args.config)
    return run_player(
        cfg,
        config,
        frames=args.frames,
        screenshot=Path(args.screenshot) if args.screenshot else None,
    )


def _render(args: argparse.Namespace) -> int:
    _quiet_pygame()
    import pygame

    from signage_player.offscreen import parse_size, render_scene

    try:
        size = parse_size(args.size)
    except ValueError as exc:
        raise UsageError(f"--size: {exc}") from exc
    if args.lang not in ("ja", "en", "zh-Hans", "ko"):
        raise UsageError(f"--lang: expected ja, en, zh-Hans or ko, got {args.lang!r}")
    frame, shown = render_scene(
        args.content,
        args.scene,
        args.lang,
        size,
        accessible=args.accessible,
        viewing_distance_m=args.viewing_distance,
        diagonal_in=args.diagonal,
    )
    pygame.image.save(frame, args.out)
    for record in shown.overflows:
        print(
            f"render: text cut in {record.name}: {' / '.join(record.fit.lines)!r}", file=sys.stderr
        )
    return 1 if shown.overflows else 0


def _install(args: argparse.Namespace) -> int:
    _quiet_pygame()
    from signage_player.install import install

    _, cfg = _signage_config(args.config)
    package = install(args.package, cfg.state_dir, try_render=True)  # type: ignore[attr-defined]
    print(f"installed {package.id} {package.version} ({package.digest[:12]})")
    return 0


def _emergency(args: argparse.Namespace) -> int:
    from walkway.signage_state.emergency import clear_emergency, set_emergency

    _, cfg = _signage_config(args.config)
    state = cfg.state_dir  # type: ignore[attr-defined]
    if args.clear:
        print("cleared" if clear_emergency(state) else "no emergency notice was set")
        return 0
    texts = {}
    for item in args.text or []:
        lang, sep, text = item.partition("=")
        if not sep or lang not in ("ja", "en", "zh-Hans", "ko"):
            raise UsageError(
                f"--text: expected LANG=TEXT with LANG one of ja, en, zh-Hans, ko, got {item!r}"
            )
        texts[lang] = text
    set_emergency(state, texts)
    print(f"emergency notice set in {state}")
    return 0


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    signage = subparsers.add_parser("signage", help="the signage player")
    sub = signage.add_subparsers(dest="signage_command", metavar="COMMAND")
    run = sub.add_parser("run", help="play the installed content full-screen until SIGTERM")
    run.add_argument("--config", required=True, help="the node's TOML config with [signage]")
    run.add_argument("--frames", type=int, default=0, help="stop after N frames (0: run on)")
    run.add_argument("--screenshot", help="save the last frame to this PNG")
    run.set_defaults(handler=_run)

    render = sub.add_parser("render", help="render one scene to a PNG (no display needed)")
    render.add_argument("--content", required=True, help="content package folder")
    render.add_argument("--scene", required=True, help="scene id from the manifest")
    render.add_argument("--lang", required=True, help="ja, en, zh-Hans or ko")
    render.add_argument("--size", required=True, help="WxH in pixels, e.g. 1920x1080 or 1080x1920")
    render.add_argument("--out", required=True, help="PNG file to write")
    render.add_argument("--accessible", action="store_true", help="large text, high contrast")
    render.add_argument("--viewing-distance", type=float, default=4.5, help="metres (default 4.5)")
    render.add_argument("--diagonal", type=float, default=55.0, help="panel inches (default 55)")
    render.set_defaults(handler=_render)

    inst = sub.add_parser("install", help="stage, verify and atomically swap in a content package")
    inst.add_argument("package", help="package folder, .zip, .tar or .tar.gz")
    inst.add_argument("--config", required=True, help="the node's TOML config with [signage]")
    inst.set_defaults(handler=_install)

    emer = sub.add_parser("emergency", help="show (or --clear) an emergency notice on this sign")
    emer.add_argument("--config", required=True, help="the node's TOML config with [signage]")
    emer.add_argument("--text", action="append", help="LANG=TEXT; repeat per language (ja needed)")
    emer.add_argument("--clear", action="store_true", help="remove the notice")
    emer.set_defaults(handler=_emergency)
