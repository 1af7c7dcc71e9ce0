"""`walkway signage script`: drive the real player with timed taps, offscreen, and write every
screen reached as a PNG plus a JSON log (for content authors, crews and tests).

The events file is a JSON list, times in seconds from the start, taps in 0..1 screen
coordinates or presses of named targets (a button's id, e.g. "open:events", "item:tv-tower",
"variant:step_free", "lang:en", "home"; `walkway signage script --list-targets` prints them):
    [{"at_s": 1.0, "tap": [0.5, 0.7]}, {"at_s": 2.0, "press": "open:routes"},
     {"at_s": 60.0, "wait": true}]
The first tap or press of a visit opens the home screen, as on a real sign; "wait" only lets
time pass (to see the idle timeout return the sign to its playlist).
"""

import json
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from walkway.errors import InputFileError

EVENT_KEYS = ("tap", "press", "wait")


def parse_events(path: Path) -> list[dict]:
    try:
        raw = json.loads(Path(path).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path}: expected a JSON list of events: {exc}") from exc
    if not isinstance(raw, list):
        raise InputFileError(f"{path}: expected a JSON list of events")
    last = 0.0
    for i, ev in enumerate(raw):
        at = f"{path}: [{i}]"
        if not isinstance(ev, dict):
            raise InputFileError(f"{at}: expected an object with at_s and one of tap, press, wait")
        t = ev.get("at_s")
        if isinstance(t, bool) or not isinstance(t, int | float) or t < last:
            raise InputFileError(f"{at}.at_s: expected seconds, not before the previous event")
        last = float(t)
        kinds = [k for k in EVENT_KEYS if k in ev]
        if len(kinds) != 1:
            raise InputFileError(f"{at}: expected exactly one of tap, press, wait")
        if "tap" in ev:
            xy = ev["tap"]
            if (
                not isinstance(xy, list)
                or len(xy) != 2
                or not all(isinstance(v, int | float) and 0 <= v <= 1 for v in xy)
            ):
                raise InputFileError(f"{at}.tap: expected [x, y] with each from 0 to 1")
        if "press" in ev and not isinstance(ev["press"], str):
            raise InputFileError(f"{at}.press: expected a target name such as open:events")
    return raw


def run_script(
    content: Path,
    size: tuple[int, int],
    lang: str,
    events: list[dict],
    out: Path,
    *,
    now: datetime | None = None,
    live: Any = None,
    cfg_overrides: dict | None = None,
) -> dict:
    """Play `events` against a real Player; returns (and writes) the log."""
    import pygame

    from signage_player.config import LANGUAGES, SignageConfig
    from signage_player.content import load_package
    from signage_player.fonts import FontBook
    from signage_player.live import sample_live
    from signage_player.offscreen import GOLDEN_NOW
    from signage_player.player import Player
    from signage_player.render import Renderer
    from signage_player.style import metrics

    package = load_package(content)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = (now or GOLDEN_NOW).timestamp()
    clock = [start]
    with tempfile.TemporaryDirectory(prefix="walkway-script-") as state:
        langs = (lang,) + tuple(x for x in LANGUAGES if x != lang)
        cfg = SignageConfig(
            content=None,
            state_dir=Path(state),
            width=size[0],
            height=size[1],
            languages=langs,
            proof_of_play=False,
            **(cfg_overrides or {}),
        )
        m = metrics(
            *size,
            diagonal_in=cfg.diagonal_in,
            px_per_mm=cfg.px_per_mm,
            viewing_distance_m=cfg.viewing_distance_m,
            accessible=cfg.accessible,
        )
        renderer = Renderer(FontBook(), m, languages=langs, location=cfg.location)
        player = Player(cfg, renderer, package, clock=lambda: clock[0])
        player.check = lambda t: None  # no state files to poll offscreen: live comes from here
        player.live = live if live is not None else sample_live(package)
        player.emergency = None
        surface = pygame.Surface(size)
        log: dict = {"size": list(size), "lang": lang, "screens": []}
        last_key: Any = "start"
        for i, ev in enumerate(events):
            clock[0] = start + float(ev["at_s"])
            player.frame(surface)  # time passes first: an idle visit ends before the tap
            if "tap" in ev:
                player.touch(int(ev["tap"][0] * (size[0] - 1)), int(ev["tap"][1] * (size[1] - 1)))
            elif "press" in ev:
                if player.visit is None:
                    player.touch(0, 0)
                else:
                    ok = player.visit.press(ev["press"], clock[0])
                    if not ok:
                        raise InputFileError(
                            f"events[{i}].press: no target {ev['press']!r} on the"
                            f" {player.visit.state.screen} screen; expected one of: "
                            + ", ".join(b.id for b in player.visit.screen().buttons)
                        )
            player.frame(surface)
            key = _key(player)
            if key != last_key:
                last_key = key
                entry = _entry(player, float(ev["at_s"]))
                name = f"{len(log['screens']):02d}-{entry['screen']}.png"
                pygame.image.save(surface, str(out / name))
                entry["png"] = name
                log["screens"].append(entry)
        (out / "log.json").write_text(json.dumps(log, ensure_ascii=False, indent=1) + "\n")
    return log


def _key(player: Any) -> Any:
    v = player.visit
    if v is None:
        return ("playlist",)
    return (v.state, v.env.lang, v.env.large)


def _entry(player: Any, at_s: float) -> dict:
    v = player.visit
    if v is None:
        return {"at_s": at_s, "screen": "playlist"}
    s = v.screen()
    entry = {
        "at_s": at_s,
        "screen": v.state.screen,
        "lang": v.env.lang,
        "large": v.env.large,
        "targets": [b.id for b in s.buttons],
    }
    for key in ("kind", "item", "variant", "condition"):
        value = getattr(v.state, key)
        if value and (key != "variant" or v.state.screen == "detail"):
            entry[key] = value
    if key == "condition" and v.state.screen != "course":
        entry.pop("condition", None)
    if s.qr:
        entry["qr"] = s.qr
    if s.overflows:
        entry["text_cut"] = [r.name for r in s.overflows]
    return entry


def with_overrides(cfg: Any, **values: Any) -> Any:
    return replace(cfg, **values)


def render_screen(
    package: Any,
    state: Any,
    lang: str,
    size: tuple[int, int],
    *,
    fonts: Any = None,
    large: bool = False,
    now: datetime | None = None,
    crowding: dict | None = None,
    draw: bool = True,
    location: str = "",
    ink: list | None = None,
) -> Any:
    """One interactive screen offscreen (golden tests, docs' screenshots): a Screen."""
    from signage_player.config import SignageConfig
    from signage_player.fonts import FontBook
    from signage_player.interactive.catalog import load_catalog
    from signage_player.interactive.screens import Env, paint
    from signage_player.offscreen import GOLDEN_NOW
    from signage_player.style import metrics

    cfg = SignageConfig(content=None, state_dir=Path("."))
    kw = {"diagonal_in": cfg.diagonal_in, "viewing_distance_m": cfg.viewing_distance_m}
    env = Env(
        catalog=load_catalog(package, location),
        fonts=fonts or FontBook(),
        normal=metrics(*size, **kw),
        large_text=metrics(*size, accessible=True, **kw),
        lang=lang,
        now=now or GOLDEN_NOW,
        crowding=crowding or {},
        route_url=cfg.route_url,
        reach_from=cfg.reach_from,
        large=large,
        draw=draw,
    )
    return paint(env, state, ink)
