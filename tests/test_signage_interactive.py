"""The interactive sign: routes on the walking graph, every screen in every language and
orientation (golden images, no text cut), touch input through the real player, the idle
timeout, emergencies, the QR hand-off decoded from the rendered picture, and privacy.

Regenerate the golden images after an intended change with:
    WALKWAY_UPDATE_GOLDEN=1 SDL_VIDEODRIVER=dummy .venv/bin/python -m pytest \
        tests/test_signage_interactive.py -k golden
"""

import json
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "signage_player" / "example_content" / "sapporo"
GOLDEN = Path(__file__).resolve().parent / "data" / "signage" / "interactive"
LANGS = ("ja", "en", "zh-Hans", "ko")
SIZES = ((1920, 1080), (1080, 1920))


@pytest.fixture(scope="module")
def package():
    from signage_player.content import load_package

    return load_package(CONTENT)


@pytest.fixture(scope="module")
def catalog(package):
    from signage_player.interactive.catalog import load_catalog

    return load_catalog(package)


@pytest.fixture(scope="module")
def fonts():
    from signage_player.fonts import FontBook

    return FontBook()


def _states():
    from signage_player.interactive.screens import State

    return {
        "home": State(),
        "events": State(screen="list", kind="events", when="week"),
        "places": State(screen="list", kind="places", category="shopping"),
        "detail": State(screen="detail", kind="routes", item="odori-park", variant="step_free"),
        "event": State(screen="detail", kind="events", item="event0"),
        "course": State(screen="course", kind="jogging", item="tsudome", condition="hard"),
        "health": State(screen="health", kind="health"),
    }


# -- routes ------------------------------------------------------------------------------
def test_step_free_never_uses_stairs_or_escalators(catalog):
    seen_steps = False
    for node in sorted(catalog.graph.nodes() - {catalog.here}):
        shortest = catalog.route(node, "shortest")
        free = catalog.route(node, "step_free")
        assert shortest is not None
        seen_steps |= not shortest.step_free
        if free is not None:
            assert not {"stairs", "escalator"} & set(free.kinds), (node, free.kinds)
            assert free.seconds >= shortest.seconds - 1e-6
    assert seen_steps, "the test graph must have a shortest route with steps to mean anything"


def test_quieter_route_changes_when_a_segment_is_crowded(package, catalog):
    from signage_player.interactive.graph import crowding_by_segment
    from signage_player.live import _walkways

    calm = crowding_by_segment(_walkways(package), {"chikaho": 10})
    crowded = crowding_by_segment(_walkways(package), {"chikaho": 130})
    assert catalog.route("odori", "quieter", calm).nodes == ("chikaho", "odori")
    assert catalog.route("odori", "quieter", crowded).nodes == ("chikaho", "ekimae-dori", "odori")
    assert catalog.route("odori", "shortest", crowded).nodes == ("chikaho", "odori")


def test_walking_figures_follow_the_documented_formulas(catalog):
    from signage_player.i18n import walk_kcal, walk_minutes, walk_steps
    from signage_player.interactive.walking import figures

    flat = catalog.route("odori", "shortest")  # 270 m of walkway, no stairs
    f = figures(flat)
    assert (f.steps, f.kcal) == (walk_steps(270), walk_kcal(270))
    assert abs(f.minutes - walk_minutes(270)) <= 1
    stairs = catalog.route("odori-park", "shortest")
    assert figures(stairs).kcal >= walk_kcal(stairs.length_m)  # climbing costs more


def test_graph_errors_name_the_file_and_field(package):
    from signage_player.interactive.graph import GraphError, parse_graph

    bad = {
        "edges": [
            {"a": "chikaho", "b": "odori", "length_m": 10, "kind": "teleport", "covered": True}
        ]
    }
    with pytest.raises(GraphError, match=r"x.json: graph.edges\[0\].kind: expected one of"):
        parse_graph(bad, package.places, "x.json")
    bad["edges"][0].update(kind="walkway", b="atlantis")
    with pytest.raises(GraphError, match=r"graph.edges\[0\].b: expected a place id"):
        parse_graph(bad, package.places, "x.json")


# -- screens -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(_states()))
def test_golden(package, fonts, name, lang, size):
    from support.golden import assert_matches_golden

    from signage_player.interactive.script import render_screen

    screen = render_screen(package, _states()[name], lang, size, fonts=fonts)
    assert not screen.overflows, [r.name for r in screen.overflows]
    assert_matches_golden(screen.surface, GOLDEN / f"{name}-{lang}-{size[0]}x{size[1]}.png")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGS)
def test_large_text_fits_and_targets_are_reachable(package, fonts, lang, size):
    from signage_player.interactive.layout import TARGET_MM, Layout
    from signage_player.interactive.script import render_screen

    for large in (False, True):
        for name, state in _states().items():
            screen = render_screen(package, state, lang, size, fonts=fonts, large=large, draw=False)
            assert not screen.overflows, (name, large, [r.name for r in screen.overflows])
            from signage_player.style import metrics

            m = metrics(*size, accessible=large)
            lay = Layout(m, 0.4)
            assert screen.buttons, name
            for b in screen.buttons:
                x, y, w, h = b.box
                assert min(w, h) >= TARGET_MM * m.px_per_mm - 1, (name, b.id, b.box)
                assert y >= lay.reach_y, (name, b.id, "above the reach line")
                assert x >= 0 and y + h <= size[1] and x + w <= size[0], (name, b.id)


def test_every_detail_qr_decodes_to_the_tapped_destination(tmp_path, catalog):
    import cv2

    from signage_player.interactive.script import run_script

    dests = sorted(i.id for i in catalog.of("routes"))
    events = [{"at_s": 0.5, "tap": [0.5, 0.5]}]
    t = 1.0
    for d in dests:
        events += [{"at_s": t, "press": "home"}, {"at_s": t + 0.1, "press": "open:routes"}]
        # the list pages: open the item from the page it is on (presses are by name)
        events.append({"at_s": t + 0.2, "open_item": d})
        t += 1.0
    # expand "open_item" into page turns and the press, as a person would do
    log = _run_open_items(run_script, tmp_path, events)
    details = [s for s in log["screens"] if s["screen"] == "detail"]
    assert [s["item"] for s in details] == dests
    detector = cv2.QRCodeDetector()
    for s in details:
        img = cv2.imread(str(tmp_path / s["png"]))
        text, _, _ = detector.detectAndDecode(img)
        assert text == s["qr"], s["png"]
        assert f"to:{s['item']};" in text and "from:chikaho;" in text
        assert "session" not in text and "time" not in text


def _run_open_items(run_script, out, events):
    """Run a script where {"open_item": X} pages through the routes list until X is there."""
    from signage_player.content import load_package
    from signage_player.interactive.catalog import load_catalog
    from signage_player.interactive.screens import State
    from signage_player.interactive.script import render_screen

    package = load_package(CONTENT)
    load_catalog(package)
    real = []
    for ev in events:
        if "open_item" not in ev:
            real.append(ev)
            continue
        page = 0
        while True:
            screen = render_screen(
                package,
                State(screen="list", kind="routes", page=page),
                "ja",
                (1920, 1080),
                draw=False,
            )
            ids = [b.id for b in screen.buttons]
            if f"item:{ev['open_item']}" in ids:
                break
            page += 1
            real.append({"at_s": ev["at_s"], "press": "page:next"})
            assert page < 10
        real.append({"at_s": ev["at_s"] + 0.05, "press": f"item:{ev['open_item']}"})
    return run_script(CONTENT, (1920, 1080), "ja", real, out)


# -- the player: touch, idle, language, emergency -------------------------------------------
def _player(tmp_path, package, fonts, size=(1920, 1080), store=None, **cfg):
    import pygame

    from signage_player.config import SignageConfig
    from signage_player.live import sample_live
    from signage_player.player import Player
    from signage_player.render import Renderer
    from signage_player.style import metrics

    config = SignageConfig(content=None, state_dir=tmp_path, width=size[0], height=size[1], **cfg)
    renderer = Renderer(fonts, metrics(*size), languages=config.languages)
    clock = [1_764_370_800.0]
    player = Player(config, renderer, package, store=store, clock=lambda: clock[0])
    player.check = lambda t: None  # tests set emergency and live figures themselves
    player.live = sample_live(package)
    return player, clock, pygame.Surface(size)


def _centre(player, target):
    b = next(b for b in player.visit.screen().buttons if b.id == target)
    x, y, w, h = b.box
    return x + w // 2, y + h // 2


def test_touch_opens_home_idle_returns_to_the_playlist(tmp_path, package, fonts):
    player, clock, surf = _player(tmp_path, package, fonts, idle_timeout_s=45)
    player.frame(surf)
    assert player.visit is None and player.slot is not None
    player.touch(10, 10)
    player.frame(surf)
    assert player.visit.state.screen == "home"  # the first touch presses nothing
    player.touch(*_centre(player, "open:routes"))
    assert player.visit.state.screen == "list"
    clock[0] += 44.0
    player.frame(surf)
    assert player.visit is not None
    clock[0] += 1.0
    player.frame(surf)
    assert player.visit is None and player.slot is not None and player.slot.spec.type != "emergency"
    player.touch(10, 10)  # the next visitor starts from home, not where the last one was
    assert player.visit.state.screen == "home"


def test_language_switch_redraws_in_that_language(tmp_path, package, fonts):
    player, _, surf = _player(tmp_path, package, fonts)
    player.touch(0, 0)
    titles = {r.name for r in player.visit.screen().fits if r.name.startswith("title")}
    assert titles == {"title[ja]"}
    player.touch(*_centre(player, "lang:ko"))
    player.frame(surf)
    titles = {r.name for r in player.visit.screen().fits if r.name.startswith("title")}
    assert titles == {"title[ko]"}
    lines = next(r for r in player.visit.screen().fits if r.name == "title[ko]").fit.lines
    assert lines == ("찾기・걷기",)


def test_emergency_wins_during_interaction(tmp_path, package, fonts):
    from walkway.signage_state.emergency import Emergency

    player, clock, surf = _player(tmp_path, package, fonts)
    player.touch(0, 0)
    player.touch(*_centre(player, "open:events"))
    assert player.visit is not None
    player.emergency = Emergency({"ja": "火災", "en": "Fire"}, {}, 1.0, 1.0)
    clock[0] += 1
    player.frame(surf)
    assert player.visit is None and player.slot.spec.type == "emergency"
    player.touch(500, 900)  # taps during an emergency open nothing
    assert player.visit is None


def test_ten_thousand_random_taps_and_drags_never_crash_or_stick(tmp_path, package, fonts):
    # Layout only (every text fitted, every button placed, nothing rasterised) keeps 10,000
    # taps quick; drawing itself is what the golden tests cover.
    from dataclasses import replace

    player, clock, surf = _player(tmp_path, package, fonts)
    new_visit = player._new_visit

    def layout_only_visit(*args):
        visit = new_visit(*args)
        visit.env = replace(visit.env, draw=False)
        return visit

    player._new_visit = layout_only_visit
    rng = random.Random(13)
    w, h = surf.get_size()
    for _ in range(10_000):
        clock[0] += rng.choice((0.05, 0.2, 1.0, 3.0))
        if rng.random() < 0.5 and player.visit is not None:
            # a press on a real button, as a person aiming would
            player.touch(*_centre(player, rng.choice(player.visit.screen().buttons).id))
        else:
            x, y = rng.randrange(-50, w + 50), rng.randrange(-50, h + 50)
            for step in range(rng.choice((1, 1, 4))):  # a drag: several touches in a row
                player.touch(x + step * 30, y)
        if rng.random() < 0.05:
            player.frame(surf)
    assert player.visit is not None or player.slot is not None
    clock[0] += 46
    player.frame(surf)
    assert player.visit is None and player.slot is not None  # back in the playlist


# -- privacy -----------------------------------------------------------------------------
def test_only_anonymous_counts_reach_the_store(tmp_path, package, fonts):
    import sqlite3

    from edge.store import Store

    store = Store(tmp_path / "store.db", node="chikaho-01", clock=lambda: 1_764_370_800.0)
    player, clock, surf = _player(tmp_path, package, fonts, store=store, proof_of_play=False)
    player.touch(0, 0)
    for target in ("open:routes", "item:odori", "variant:step_free", "lang:en"):
        player.touch(*_centre(player, target))
        player.frame(surf)
    clock[0] += 60
    player.frame(surf)  # idle: the visit ends and leaves its counts
    store.close()
    rows = (
        sqlite3.connect(tmp_path / "store.db")
        .execute("SELECT source, direction, count FROM bins ORDER BY direction")
        .fetchall()
    )
    directions = {d for _, d, _ in rows}
    assert directions == {
        "ui.sessions",
        "ui.qr",
        "ui.screen.home",
        "ui.screen.list",
        "ui.screen.detail",
    }, directions
    assert {s for s, _, _ in rows} == {"signage"}
    raw = (tmp_path / "store.db").read_bytes()
    assert b"odori" not in raw and b"step_free" not in raw  # no destination, no choices


# -- the scripted-interaction command -------------------------------------------------------
def test_script_command_writes_screens_and_log(tmp_path):
    from walkway.cli import main

    events = tmp_path / "events.json"
    events.write_text(
        json.dumps(
            [
                {"at_s": 1.0, "tap": [0.5, 0.5]},
                {"at_s": 2.0, "press": "open:jogging"},
                {"at_s": 3.0, "press": "condition:hard"},
                {"at_s": 4.0, "press": "course:tsudome"},
                {"at_s": 60.0, "wait": True},
            ]
        )
    )
    out = tmp_path / "out"

    def script(events_file):
        return main(
            [
                "signage",
                "script",
                "--content",
                str(CONTENT),
                "--size",
                "1080x1920",
                "--lang",
                "en",
                "--events",
                str(events_file),
                "--out",
                str(out),
            ]
        )

    assert script(events) == 0
    log = json.loads((out / "log.json").read_text())
    assert [s["screen"] for s in log["screens"]] == ["home", "list", "list", "course", "playlist"]
    assert all((out / s["png"]).is_file() for s in log["screens"])
    assert "to:tsudome;" in log["screens"][3]["qr"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"at_s": 1, "tap": [2, 0.5]}]))
    assert script(bad) == 2


def test_the_run_loop_turns_touch_and_mouse_events_into_taps(tmp_path, package, fonts):
    """`walkway signage run` itself: a finger event opens the home screen; a synthesized mouse
    event for the same touch (SDL sends both) is not taken as a second tap."""
    import numpy as np
    import pygame

    from signage_player.interactive.screens import State
    from signage_player.interactive.script import render_screen
    from walkway.cli import main

    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "chikaho-01"\nsite = "sapporo"\n[store]\npath = "s.db"\n'
        f'[mqtt]\n[signage]\ncontent = "{CONTENT}"\nwidth = 1920\nheight = 1080\n'
        f"proof_of_play = false\n"
    )
    pygame.display.init()
    pygame.display.set_mode((1920, 1080))
    pygame.event.post(
        pygame.event.Event(
            pygame.FINGERDOWN, x=0.5, y=0.5, finger_id=0, touch_id=0, dx=0, dy=0, pressure=1.0
        )
    )
    # the same touch as SDL's synthesized mouse event: on the "events" door, if it counted
    pygame.event.post(
        pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(300, 560), button=1, touch=True)
    )
    shot = tmp_path / "shot.png"
    assert (
        main(
            ["signage", "run", "--config", str(config), "--frames", "3", "--screenshot", str(shot)]
        )
        == 0
    )
    got = pygame.surfarray.array3d(pygame.image.load(str(shot))).astype(np.int16)
    want = pygame.surfarray.array3d(
        render_screen(package, State(), "ja", (1920, 1080), fonts=fonts).surface
    ).astype(np.int16)
    assert float(np.abs(got - want).mean()) < 1.0  # the home screen, nothing pressed


def test_a_sign_elsewhere_routes_from_where_it_stands(package, fonts):
    from signage_player.interactive.catalog import load_catalog
    from signage_player.interactive.screens import State
    from signage_player.interactive.script import render_screen

    odori = load_catalog(package, "odori")
    assert odori.here == "odori" and odori.route("pole-town", "shortest").nodes[0] == "odori"
    assert load_catalog(package, "no-such-place").here == package.location
    # a suburban sign off the walking map: no routes door, and directions by QR only
    home = render_screen(
        package, State(), "en", (1920, 1080), fonts=fonts, draw=False, location="shin-sapporo"
    )
    assert "open:routes" not in {b.id for b in home.buttons}
    detail = render_screen(
        package,
        State(screen="detail", kind="places", item="tv-tower"),
        "en",
        (1920, 1080),
        fonts=fonts,
        draw=False,
        location="shin-sapporo",
    )
    assert "from:shin-sapporo;" in detail.qr and "to:tv-tower;" in detail.qr
    facts = next(r for r in detail.fits if r.name == "detail.facts[en]")
    assert "scan for directions" in " ".join(facts.fit.lines)
