"""The player: config, proof of play, emergency override, crossfades, live crowding, CLI."""

import json
import time
from pathlib import Path

import pytest

from edge.store import Store
from signage_player.config import SignageConfig
from signage_player.install import install, load_current
from walkway.records import Batch, Observation
from walkway.signage_state.emergency import clear_emergency, read_emergency, set_emergency
from walkway.signage_state.player import read_heartbeat

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "signage_player" / "example_content" / "sapporo"
T0 = 1_795_000_000.0  # 2026-11-18, a Wednesday, 16:26 in Sapporo


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def fonts():
    from signage_player.fonts import FontBook

    return FontBook()


def _player(tmp_path, fonts, clock, store=None, **cfg_changes):
    from signage_player.player import Player
    from signage_player.render import Renderer
    from signage_player.style import metrics

    state = tmp_path / "state"
    if not (state / "content").exists():
        install(CONTENT, state)
    cfg = SignageConfig(
        content=None, state_dir=state, transition_s=1.0, sign_kind="underground", **cfg_changes
    )
    renderer = Renderer(fonts, metrics(960, 540, diagonal_in=27), languages=cfg.languages)
    return Player(cfg, renderer, load_current(state), store=store, node="chikaho-01", clock=clock)


def test_config_section_parses_and_reports_every_problem(tmp_path):
    from edge.config import load_config
    from walkway.errors import ConfigError

    base = '[node]\nid = "n1"\nsite = "s1"\n[store]\npath = "s.db"\n[mqtt]\n'
    good = tmp_path / "good.toml"
    good.write_text(
        base + '[signage]\ncontent = "pkg"\nviewing_distance_m = 10\n'
        'languages = ["ja", "en"]\naccessible = true\n'
    )
    cfg = load_config(good).section("signage")
    assert cfg.content == tmp_path / "pkg" and cfg.state_dir == tmp_path / "signage-state"
    assert cfg.languages == ("ja", "en") and cfg.accessible and cfg.viewing_distance_m == 10
    bad = tmp_path / "bad.toml"
    bad.write_text(
        base + '[signage]\nlanguages = ["fr"]\nwidth = 1920\nfps = 0\n'
        'timezone = "Mars/Olympus"\ncolour = "red"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    text = str(info.value)
    for key in (
        "signage.languages",
        "signage.width",
        "signage.fps",
        "signage.timezone",
        "signage.colour: unknown key",
    ):
        assert key in text


def test_fonts_give_each_language_its_face(fonts):
    assert "BIZ UDPGothic" in fonts.font("ja", 40).name
    assert fonts.font("zh-Hans", 40).name.endswith("SC")
    assert fonts.font("ko", 40).name.endswith("KR")


def test_japanese_breaks_at_phrase_boundaries(fonts):
    import budoux

    from signage_player.textfit import fit

    text = "今日は地下歩行空間を歩いて大通公園のイルミネーションを見に行きましょう"
    phrases = budoux.load_default_japanese_parser().parse(text)
    for width in (400, 600, 800):  # wider than the longest phrase (9 characters)
        f = fit(fonts, text, "ja", width, 2000, 40, 40)
        assert f.ok and f.width <= width
        bounds = set()
        pos = 0
        for p in phrases:
            pos += len(p)
            bounds.add(pos)
        pos = 0
        for line in f.lines[:-1]:
            pos += len(line)
            assert pos in bounds, f"line break inside a phrase: {f.lines}"


def test_fit_wraps_then_shrinks_and_never_draws_outside(fonts):
    from signage_player.textfit import fit

    text = "Sapporo Station to Susukino, about 1.9 km, all underground"
    roomy = fit(fonts, text, "en", 2600, 200, 60, 30)
    assert roomy.size == 60 and len(roomy.lines) == 1
    wrapped = fit(fonts, text, "en", 700, 200, 60, 30)
    assert wrapped.ok and len(wrapped.lines) > 1 and wrapped.height <= 200
    shrunk = fit(fonts, text, "en", 700, 80, 60, 30)
    assert shrunk.ok and shrunk.size < 60
    cut = fit(fonts, text, "en", 300, 40, 60, 30)
    assert not cut.ok and cut.lines[-1].endswith("…") and cut.width <= 300


def test_crossfade_never_shows_black(tmp_path, fonts):
    import numpy as np
    import pygame

    clock = FakeClock()
    player = _player(tmp_path, fonts, clock)
    screen = pygame.Surface((960, 540))
    player.frame(screen)
    first = pygame.surfarray.array3d(screen).astype(float)
    clock.t += player.slot.dwell
    means = []
    for _ in range(11):
        player.frame(screen)
        means.append(pygame.surfarray.array3d(screen).astype(float).mean())
        clock.t += 0.1
    last = pygame.surfarray.array3d(screen).astype(float)
    floor = min(first.mean(), last.mean()) - 1.0
    assert min(means) >= floor, f"a dark frame during the crossfade: {means}"
    assert not np.array_equal(first, last) and len(set(round(m, 2) for m in means)) > 3


def test_proof_of_play_goes_to_the_store_outbox(tmp_path, fonts):
    import pygame

    clock = FakeClock()
    store = Store(tmp_path / "store.db", node="chikaho-01", clock=clock)
    player = _player(tmp_path, fonts, clock, store=store)
    screen = pygame.Surface((960, 540))
    shown = []
    for _ in range(9):  # events in 4 languages, then route...
        player.frame(screen)
        shown.append(player.slot.spec.id)
        clock.t += player.slot.dwell
    player.frame(screen)
    clock.t += 200
    player.close()
    rows = store.bins()
    count: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for r in rows:
        count[r["direction"]] = count.get(r["direction"], 0) + r["count"]
        seconds[r["direction"]] = seconds.get(r["direction"], 0) + (r["vsum"] or 0)
    assert shown[:5] == ["events"] * 4 + ["route"]
    assert count["play.events"] == 4
    assert seconds["play.events.seconds"] == pytest.approx(48.0)
    assert count["play.route"] >= 1
    # Proof of play names the package: one count per showing (issue 14).
    plays = sum(v for k, v in count.items() if k.startswith("play.") and k.count(".") == 1)
    assert count["content.sapporo-centre:2026.11.24"] == plays
    beat = read_heartbeat(player.cfg.state_dir)
    assert beat["content"]["id"] == "sapporo-centre" and beat["content"]["version"] == "2026.11.24"
    assert beat["content"]["since"].endswith("Z")
    assert {r["source"] for r in rows} == {"signage"}
    assert store.stats().depth > 0  # sealed into the outbox for uplink


def test_emergency_overrides_until_cleared(tmp_path, fonts):
    import pygame

    clock = FakeClock()
    player = _player(tmp_path, fonts, clock)
    screen = pygame.Surface((960, 540))
    player.frame(screen)
    assert player.slot.spec.type == "events"
    set_emergency(
        player.cfg.state_dir,
        {
            "ja": "火災が発生しました。係員の指示に従ってください。",
            "en": "Fire. Follow staff instructions.",
        },
    )
    clock.t += 0.5
    player.next_check = 0
    player.frame(screen)
    assert player.slot.spec.type == "emergency"
    for _ in range(5):  # stays, however long
        clock.t += 120
        player.frame(screen)
        assert player.slot.spec.type == "emergency"
    texts = [line for r in player.shown.fits for line in r.fit.lines]
    assert any("火災" in t for t in texts) and any("Fire." in t for t in texts)
    assert clear_emergency(player.cfg.state_dir)
    clock.t += 1
    player.next_check = 0
    player.frame(screen)
    assert player.slot.spec.type != "emergency"


def test_emergency_api(tmp_path):
    from walkway.errors import UsageError

    assert read_emergency(tmp_path) is None
    set_emergency(tmp_path, {"ja": "避難してください"}, title={"ja": "避難"})
    e = read_emergency(tmp_path)
    assert e.text == {"ja": "避難してください"} and e.title == {"ja": "避難"}
    with pytest.raises(UsageError):
        set_emergency(tmp_path, {"en": "no Japanese"})
    (tmp_path / "emergency.json").write_text("{broken")
    assert read_emergency(tmp_path) is not None  # fail safe: still an alarm
    assert clear_emergency(tmp_path) and not clear_emergency(tmp_path)


def test_live_crowding_from_store_and_neighbours(tmp_path, fonts):
    from datetime import datetime

    from signage_player.live import read_live
    from signage_player.render import Renderer
    from signage_player.style import metrics

    package = load_current(_install(tmp_path))
    now = T0
    store = Store(tmp_path / "store.db", node="chikaho-01", clock=lambda: now)
    obs = [Observation(now - 60 * k - 5, "chikaho-n2", "south", 200) for k in range(5)]
    store.commit_batch("cam", Batch(observations=obs, watermark=now))
    neighbours = tmp_path / "neighbours.json"
    neighbours.write_text(json.dumps({"updated_at": now - 30, "counts": {"odori-03/pole-n": 40.0}}))
    live = read_live(package, store, "chikaho-01", neighbours, now, 5)
    assert live.flow["chikaho"] == pytest.approx(200.0)
    assert live.flow["pole-town"] == 40.0 and live.flow["aurora-town"] is None
    renderer = Renderer(fonts, metrics(1920, 1080), languages=package.languages)
    ctx = renderer.context(package, package.scene("crowding"), "ja", live, datetime.now())
    shown = renderer.paint(ctx, draw=False)
    advice = " ".join(
        line for r in shown.fits if r.name.startswith("advice.text") for line in r.fit.lines
    )
    assert "駅前通" in advice  # busy Chi-Ka-Ho -> the quieter street-level route
    levels = {r.name: r.fit.lines[0] for r in shown.fits if ".level" in r.name}
    assert "データなし" in levels["walkway1.level[ja]"]  # missing is not "quiet"
    neighbours.write_text(json.dumps({"updated_at": now - 3600, "counts": {"odori-03/pole-n": 1}}))
    assert read_live(package, None, "chikaho-01", neighbours, now, 5).flow["pole-town"] is None


def _install(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    install(CONTENT, state)
    return state


def test_cli_render_and_run(tmp_path):
    import pygame

    from walkway.cli import main

    out = tmp_path / "frame.png"
    assert (
        main(
            [
                "signage",
                "render",
                "--content",
                str(CONTENT),
                "--scene",
                "route",
                "--lang",
                "ko",
                "--size",
                "1080x1920",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert pygame.image.load(str(out)).get_size() == (1080, 1920)
    assert (
        main(
            [
                "signage",
                "render",
                "--content",
                str(CONTENT),
                "--scene",
                "nope",
                "--lang",
                "ja",
                "--size",
                "640x360",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "chikaho-01"\nsite = "sapporo"\n[store]\npath = "s.db"\n'
        f'[mqtt]\n[signage]\ncontent = "{CONTENT}"\nwidth = 1280\nheight = 720\n'
    )
    shot = tmp_path / "shot.png"
    started = time.monotonic()
    assert (
        main(
            ["signage", "run", "--config", str(config), "--frames", "3", "--screenshot", str(shot)]
        )
        == 0
    )
    assert time.monotonic() - started < 10
    assert pygame.image.load(str(shot)).get_size() == (1280, 720)
    assert main(["signage", "emergency", "--config", str(config), "--text", "ja=訓練です"]) == 0
    assert read_emergency(tmp_path / "signage-state").text == {"ja": "訓練です"}
    assert main(["signage", "emergency", "--config", str(config), "--clear"]) == 0
    assert main(["signage", "install", str(CONTENT), "--config", str(config)]) == 0


def test_cli_module_does_not_import_pygame():
    import subprocess
    import sys

    code = "import sys, signage_player.cli, signage_player.config; print('pygame' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.strip()
    assert out == "False"


def test_heartbeat_and_screenshot_for_operations(tmp_path, fonts):
    import pygame

    from walkway.signage_state.player import read_heartbeat, request_screenshot, screenshot_path

    clock = FakeClock()
    player = _player(tmp_path, fonts, clock)
    screen = pygame.Surface((960, 540))
    player.frame(screen)
    beat = read_heartbeat(player.cfg.state_dir)
    assert beat["state"] == "ok" and beat["at"] == T0
    request_screenshot(player.cfg.state_dir, "cmd-42", T0)
    clock.t += 3
    player.frame(screen)
    png = screenshot_path(player.cfg.state_dir, "cmd-42")
    assert pygame.image.load(str(png)).get_size() == (640, 360)
    assert read_heartbeat(player.cfg.state_dir)["scene"] == "events"
