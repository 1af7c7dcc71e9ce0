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

    from signage_player.content import load_package
    from signage_player.fonts import FontBook
    from signage_player.offscreen import glyph_warnings, parse_size, render_scene

    try:
        size = parse_size(args.size)
    except ValueError as exc:
        raise UsageError(f"--size: {exc}") from exc
    if args.lang not in ("ja", "en", "zh-Hans", "ko"):
        raise UsageError(f"--lang: expected ja, en, zh-Hans or ko, got {args.lang!r}")
    package, fonts = load_package(args.content), FontBook()
    for line in glyph_warnings(package, Path(args.content), fonts):
        print(f"render: warning: {line}", file=sys.stderr)
    frame, shown = render_scene(
        package,
        args.scene,
        args.lang,
        size,
        fonts=fonts,
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
    from signage_player.startup import content_public_key

    _, cfg = _signage_config(args.config)
    from signage_player.offscreen import sign_layouts

    layouts = sign_layouts(cfg)  # this sign's size, mode, panel and viewing distance
    package = install(
        args.package, cfg.state_dir, try_render=True, layouts=layouts,  # type: ignore[attr-defined]
        public_key=content_public_key(cfg), rollback=args.rollback,
    )
    print(f"installed {package.id} {package.version} ({package.digest[:12]})")
    return 0


def _hash(args: argparse.Namespace) -> int:
    from signage_player.content import MANIFEST, ContentError, write_manifest_hashes

    root = Path(args.package)
    if not (root / MANIFEST).is_file():
        raise ContentError(f"{root / MANIFEST}: missing manifest (expected a package folder)")
    try:
        files = write_manifest_hashes(root)
    except ValueError as exc:  # not UTF-8 JSON
        raise ContentError(f"{root / MANIFEST}: expected valid UTF-8 JSON: {exc}") from exc
    print(f"{root / MANIFEST}: files: {len(files)} sha256 digests written")
    return 0


def _emergency(args: argparse.Namespace) -> int:
    from walkway.signage_state.emergency import clear_emergency, set_emergency

    _, cfg = _signage_config(args.config)
    state = cfg.state_dir  # type: ignore[attr-defined]
    if args.clear:
        print("cleared" if clear_emergency(state) else "no emergency notice was set")
        return 0
    texts = _by_language("--text", args.text)
    titles = _by_language("--title", args.title)
    set_emergency(state, texts, title=titles)
    for line in _glyph_warnings({"--text": texts, "--title": titles}):
        print(f"warning: {line}", file=sys.stderr)
    print(f"emergency notice set in {state}")
    return 0


def _glyph_warnings(flags: dict[str, dict[str, str]]) -> list[str]:
    """Characters of an emergency notice no installed face has (shown as boxes). Checked
    after the notice is set: a font problem must never hold an alarm back."""
    _quiet_pygame()
    from signage_player.fonts import FontBook, FontError

    try:
        fonts = FontBook()
        return [
            f"{flag} {lang}: U+{ord(c):04X} {c!r} has no glyph in any installed font"
            " (it shows as a box)"
            for flag, texts in flags.items()
            for lang, text in texts.items()
            for c in fonts.missing_glyphs(text, lang)
        ]
    except FontError as exc:
        return [str(exc)]


def _by_language(flag: str, items: list[str] | None) -> dict[str, str]:
    """Repeated LANG=TEXT flags -> {lang: text}."""
    out = {}
    for item in items or []:
        lang, sep, text = item.partition("=")
        if not sep or lang not in ("ja", "en", "zh-Hans", "ko") or not text.strip():
            raise UsageError(
                f"{flag}: expected LANG=TEXT with LANG one of ja, en, zh-Hans, ko, got {item!r}"
            )
        out[lang] = text
    return out


def _script(args: argparse.Namespace) -> int:
    _quiet_pygame()
    from signage_player.config import LANGUAGES
    from signage_player.interactive.script import parse_events, run_script
    from signage_player.offscreen import parse_size

    try:
        size = parse_size(args.size)
    except ValueError as exc:
        raise UsageError(f"--size: {exc}") from exc
    if args.lang not in LANGUAGES:
        raise UsageError(f"--lang: expected ja, en, zh-Hans or ko, got {args.lang!r}")
    overrides = {"location": args.location} if args.location else {}
    log = run_script(
        Path(args.content),
        size,
        args.lang,
        parse_events(Path(args.events)),
        Path(args.out),
        cfg_overrides=overrides,
    )
    cut = [c for s in log["screens"] for c in s.get("text_cut", [])]
    for s in log["screens"]:
        print(f"{s['at_s']:7.1f}s  {s['screen']:<8} {s.get('png', '')}  {s.get('qr', '')}")
    for name in cut:
        print(f"script: text cut in {name}", file=sys.stderr)
    return 1 if cut else 0


def _checkin_key(args: argparse.Namespace) -> int:
    from walkway.checkin import NODE_ID, new_keypair
    from walkway.files import write_atomic, write_private

    if not NODE_ID.fullmatch(args.node):
        raise UsageError(f"--node: expected a node id ({NODE_ID.pattern}), got {args.node!r}")
    key, public_dir = Path(args.key), Path(args.public_dir)
    if key.exists():
        raise UsageError(f"{key}: already exists; a sign's check-in key is made once (remove it"
                         " first to replace it, and give the city the new public key)")
    private, public = new_keypair()
    public_dir.mkdir(parents=True, exist_ok=True)
    write_private(key, private)
    write_atomic(public_dir / f"{args.node}.pub.pem", public)
    print(f"{key}: check-in key of {args.node} (set [signage] checkin_key); public key for the"
          f" city's --checkin-keys: {public_dir / (args.node + '.pub.pem')}")
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
    inst.add_argument("--rollback", action="store_true",
                      help="allow a package older than the one playing")
    inst.set_defaults(handler=_install)

    hashes = sub.add_parser("hash", help="rewrite a package folder's manifest files (sha256)")
    hashes.add_argument("package", help="package folder (with manifest.json)")
    hashes.set_defaults(handler=_hash)

    script = sub.add_parser(
        "script", help="drive the interactive mode with timed taps offscreen; PNG per screen"
    )
    script.add_argument("--content", required=True, help="content package folder")
    script.add_argument("--size", required=True, help="WxH in pixels, e.g. 1920x1080")
    script.add_argument("--lang", required=True, help="the sign's first language")
    script.add_argument("--events", required=True, help="JSON list of timed taps and presses")
    script.add_argument("--out", required=True, help="folder for the PNGs and log.json")
    script.add_argument(
        "--location", default="", help="the sign's place id (default: the package's)"
    )
    script.set_defaults(handler=_script)

    ck = sub.add_parser("checkin-key", help="make this sign's Ed25519 check-in key pair")
    ck.add_argument("--node", required=True, help="the node id the codes will carry")
    ck.add_argument("--key", required=True, help="private key file to write (mode 0600)")
    ck.add_argument("--public-dir", required=True,
                    help="folder for NODE.pub.pem (the city's --checkin-keys folder)")
    ck.set_defaults(handler=_checkin_key)

    emer = sub.add_parser("emergency", help="show (or --clear) an emergency notice on this sign")
    emer.add_argument("--config", required=True, help="the node's TOML config with [signage]")
    emer.add_argument("--text", action="append", help="LANG=TEXT; repeat per language (ja needed)")
    emer.add_argument(
        "--title",
        action="append",
        help="LANG=TEXT heading; repeat per language (default: the package's emergency_title)",
    )
    emer.add_argument("--clear", action="store_true", help="remove the notice")
    emer.set_defaults(handler=_emergency)
