"""Field-trial defects of the sign (issue 17, items 1-7): what a passer-by reads must be true.

Each test reproduces what a field tester saw: a fire shown under an earthquake heading, "all
clear" with no data, a summer walk in December, a newer package silently replaced, a title
that could not fit, characters drawn as boxes, errors naming a staging copy.
"""

import json
import shutil
from pathlib import Path

import pytest

from signage_player.install import install, load_current
from walkway.signage_state.emergency import read_emergency

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "signage_player" / "example_content" / "sapporo"


@pytest.fixture(scope="module")
def fonts():
    from signage_player.fonts import FontBook

    return FontBook()


@pytest.fixture(scope="module")
def package():
    from signage_player.content import load_package

    return load_package(CONTENT)


def _node_config(tmp_path: Path, content: Path = CONTENT) -> Path:
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "chikaho-01"\nsite = "sapporo"\n[store]\npath = "s.db"\n'
        f'[mqtt]\n[signage]\ncontent = "{content}"\nwidth = 1920\nheight = 1080\n'
    )
    return config


def _texts(shown, name: str) -> str:
    return " ".join(line for r in shown.fits if r.name.startswith(name) for line in r.fit.lines)


def _same(drawn: str, text: str) -> bool:
    """Drawn lines (joined with spaces) show exactly `text` (wrapping aside)."""
    return drawn.replace(" ", "") == text.replace(" ", "")


def _emergency_shown(package, fonts, state: Path, lang: str = "ja"):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from signage_player.live import Live
    from signage_player.render import Renderer
    from signage_player.style import metrics

    renderer = Renderer(fonts, metrics(1920, 1080), languages=package.languages)
    spec = next(s for s in package.scenes if s.type == "emergency")
    now = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    return renderer.paint(
        renderer.context(package, spec, lang, Live(), now, read_emergency(state)), draw=False
    )


# -- 1. emergency heading ------------------------------------------------------------------
def test_emergency_without_title_shows_the_generic_heading(tmp_path, package, fonts):
    from walkway.cli import main

    config = _node_config(tmp_path)
    state = tmp_path / "signage-state"
    fire = "ja=地下街で火災が発生しました。係員の指示に従って避難してください。"
    assert main(["signage", "emergency", "--config", str(config), "--text", fire]) == 0
    assert read_emergency(state).title == {}
    shown = _emergency_shown(package, fonts, state)
    heading = _texts(shown, "emergency.title")
    assert heading == package.strings["emergency_title"]["ja"] == "緊急のお知らせ"
    assert "地震" not in " ".join(line for r in shown.fits for line in r.fit.lines)


def test_emergency_title_flag_sets_the_heading(tmp_path, package, fonts):
    from walkway.cli import main
    from walkway.errors import UsageError

    config = _node_config(tmp_path)
    state = tmp_path / "signage-state"
    args = ["signage", "emergency", "--config", str(config), "--text", "ja=火災です"]
    assert main(args + ["--title", "ja=火災", "--title", "en=Fire"]) == 0
    assert read_emergency(state).title == {"ja": "火災", "en": "Fire"}
    assert _texts(_emergency_shown(package, fonts, state), "emergency.title") == "火災"
    with pytest.raises(UsageError, match="--title"):
        from signage_player.cli import _by_language

        _by_language("--title", ["fr=Feu"])


# -- 7. install errors name the author's file and the fix -------------------------------------
def test_install_error_names_the_source_file_and_the_fix(tmp_path):
    from signage_player.content import ContentError
    from walkway.cli import main

    pkg = tmp_path / "pkg"
    shutil.copytree(CONTENT, pkg)
    notices = pkg / "data" / "notices.json"
    notices.write_text(notices.read_text("utf-8").replace("除雪", "排雪", 1), "utf-8")
    state = tmp_path / "state"
    with pytest.raises(ContentError) as info:
        install(pkg, state)
    message = str(info.value)
    assert message.startswith(f"{notices}: sha256 mismatch")
    assert ".staging-" not in message
    assert f"walkway signage hash {pkg}" in message
    # The fix it names works: the package then installs.
    assert main(["signage", "hash", str(pkg)]) == 0
    assert install(pkg, state, try_render=True).id == "sapporo-centre"
    # An archive names the archive and the member.
    (pkg / "data" / "notices.json").write_text("{}", "utf-8")
    archive = Path(shutil.make_archive(str(tmp_path / "pkg"), "zip", pkg))
    with pytest.raises(ContentError) as info:
        install(archive, state)
    assert str(info.value).startswith(f"{archive}:data/notices.json: sha256 mismatch")
    assert ".staging-" not in str(info.value)


# -- 4. a restart never rolls a sign back -----------------------------------------------------
def _with_version(tmp_path: Path, version: str) -> Path:
    from signage_player.content import write_manifest_hashes

    pkg = tmp_path / f"pkg-{version}"
    shutil.copytree(CONTENT, pkg)
    manifest = json.loads((pkg / "manifest.json").read_text("utf-8"))
    manifest["version"] = version
    (pkg / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    write_manifest_hashes(pkg)
    return pkg


def test_restart_keeps_a_newer_installed_package_and_says_why(tmp_path, caplog):
    from signage_player.config import SignageConfig
    from signage_player.startup import ensure_content

    state = tmp_path / "state"
    newer = _with_version(tmp_path, "2026.12.1")
    install(newer, state)  # a crew or the fleet installed a newer package
    cfg = SignageConfig(content=CONTENT, state_dir=state)  # the config still names 2026.11.24
    with caplog.at_level("WARNING"):
        kept = ensure_content(cfg)
    assert kept.version == "2026.12.1" and load_current(state).version == "2026.12.1"
    assert "keeping installed sapporo-centre 2026.12.1" in caplog.text
    assert "newer than 2026.11.24" in caplog.text
    # A configured package that is newer than the installed one does go in.
    cfg = SignageConfig(content=_with_version(tmp_path, "2027.1.5"), state_dir=state)
    assert ensure_content(cfg).version == "2027.1.5"
    assert load_current(state).version == "2027.1.5"


# -- 3. no data is never good news; seasons follow the date ---------------------------------------
def _paint(package, fonts, scene: str, lang: str, live, now):
    from signage_player.render import Renderer
    from signage_player.style import metrics

    renderer = Renderer(fonts, metrics(1920, 1080), languages=package.languages)
    spec = package.scene(scene)
    return renderer.paint(renderer.context(package, spec, lang, live, now), draw=False)


@pytest.mark.parametrize("lang", ["ja", "en", "zh-Hans", "ko"])
def test_crowding_without_data_says_so(package, fonts, lang):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from signage_player.live import Live

    now = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    walkways = package.data["data/crowding.json"]["walkways"]
    shown = _paint(package, fonts, "crowding", lang, Live(), now)
    advice = _texts(shown, "advice")
    assert _same(advice, package.strings["crowd_no_data"][lang])
    # One walkway counted, the others not: still not "every walkway is comfortable".
    some = Live({walkways[0]["id"]: 1.0})
    advice = _texts(_paint(package, fonts, "crowding", lang, some, now), "advice")
    assert _same(advice, package.strings["crowd_some_no_data"][lang])
    every = Live({w["id"]: 1.0 for w in walkways})
    advice = _texts(_paint(package, fonts, "crowding", lang, every, now), "advice")
    assert _same(advice, package.strings["all_clear"][lang])


def test_weather_without_data_never_invites_a_walk_outside(package, fonts):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from signage_player.live import Live

    july = datetime(2026, 7, 10, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    shown = _paint(package, fonts, "weather", "en", Live(), july)
    assert _texts(shown, "weather.advice") == package.strings["walk_underground"]["en"]
    assert _texts(shown, "weather.temperature[") == "No data"


@pytest.mark.parametrize(
    "month, day, season_word, other_word",
    [(12, 10, "snowy", "flower"), (1, 20, "snowy", "flower"), (7, 10, "flower", "snow")],
)
def test_weather_surface_walk_follows_the_season(
    package, fonts, month, day, season_word, other_word
):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from signage_player.live import Live

    mild = Live({}, {"temperature_c": 8.0, "snow_depth_mm": 0.0, "snowfall_mm_h": 0.0})
    when = datetime(2026, month, day, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    shown = _paint(package, fonts, "weather", "en", mild, when)
    assert _texts(shown, "weather.advice") == package.strings["walk_outside"]["en"]
    note = _texts(shown, "weather.note") + " " + _texts(shown, "weather.tip")
    assert season_word in note and other_word not in note
    if month == 12:
        assert "underground walkways" in note


# -- 5. a title uses the card's room, never ends smaller than its body, and install agrees ------
def _with_notice_title(tmp_path: Path, en_title: str) -> Path:
    from signage_player.content import write_manifest_hashes

    pkg = tmp_path / "pkg"
    shutil.rmtree(pkg, ignore_errors=True)
    shutil.copytree(CONTENT, pkg)
    path = pkg / "data" / "notices.json"
    notices = json.loads(path.read_text("utf-8"))
    notices["items"][0]["title"]["en"] = en_title
    path.write_text(json.dumps(notices, ensure_ascii=False), "utf-8")
    write_manifest_hashes(pkg)
    return pkg


LONG_TITLE = "Snow-clearing volunteers wanted for the homes of older neighbours this Saturday"


@pytest.mark.parametrize(
    "size, accessible", [((1920, 1080), False), ((1080, 1920), False), ((1920, 1080), True)]
)
def test_long_notice_title_wraps_in_the_card_and_stays_at_least_body_size(
    tmp_path, fonts, size, accessible
):
    from signage_player.offscreen import render_scene

    pkg = _with_notice_title(tmp_path, LONG_TITLE)
    _, shown = render_scene(pkg, "notices", "en", size, fonts=fonts, accessible=accessible)
    assert not shown.overflows, [(r.name, r.fit.lines) for r in shown.overflows]
    fits = {r.name: r.fit for r in shown.fits}
    title = fits["notice0.title[en]"]
    if not accessible:  # two columns (landscape) or narrow: it needs more than two lines
        assert len(title.lines) >= 3, title.lines
    for i in range(sum(name.endswith(".title[en]") for name in fits) - 1):  # minus the header
        t, b = fits[f"notice{i}.title[en]"], fits[f"notice{i}.body[en]"]
        assert t.size >= b.size, f"notice{i}: title {t.size} px < body {b.size} px"


def test_a_title_that_cannot_fit_is_refused_at_install_as_render_reports_it(tmp_path, capsys):
    from signage_player.content import ContentError
    from walkway.cli import main

    pkg = _with_notice_title(tmp_path, " ".join([LONG_TITLE] * 4))
    out = tmp_path / "notices.png"
    args = ["signage", "render", "--content", str(pkg), "--scene", "notices", "--lang", "en"]
    assert main(args + ["--size", "1920x1080", "--out", str(out)]) == 1
    assert "text cut in notice0.title[en]" in capsys.readouterr().err
    with pytest.raises(ContentError) as info:
        install(pkg, tmp_path / "state", try_render=True)
    message = str(info.value)
    assert message.startswith(f"{pkg / 'data' / 'notices.json'}: notice0.title[en] does not fit")
    assert "shorten it" in message and ".staging-" not in message
    assert load_current(tmp_path / "state") is None  # nothing went live


# -- 6. per-glyph fallback; characters no face has are warned about at input ----------------------
def test_missing_glyph_falls_back_per_character_instead_of_a_box(fonts):
    import numpy as np
    import pygame

    face = fonts.font("ja", 60)
    assert [run for _, run in face.runs("𠮷野家")] == ["𠮷", "野家"]  # 𠮷 from Noto CJK JP
    assert fonts.missing_glyphs("𠮷野家", "ja") == []

    def ink(img):
        return pygame.surfarray.array_alpha(img) > 0

    drawn = face.render("𠮷", True, (255, 255, 255))
    main, fallback = face.runs("野")[0][0], face.runs("𠮷")[0][0]
    tofu = main.render("𠮷", True, (255, 255, 255))  # what the main face alone draws
    assert main is not fallback
    assert ink(drawn).shape != ink(tofu).shape or not np.array_equal(ink(drawn), ink(tofu))
    want = fallback.render("𠮷", True, (255, 255, 255))
    assert np.array_equal(ink(drawn)[:, : want.get_height()], ink(want)[:, : drawn.get_height()])
    # The line is measured as drawn: the shop name fits where it is put.
    assert face.size("𠮷野家")[0] == drawn.get_width() + main.size("野家")[0]


def test_characters_no_face_has_are_warned_at_install_naming_file_field_and_char(
    tmp_path, caplog, capsys
):
    from signage_player.content import write_manifest_hashes
    from walkway.cli import main

    pkg = tmp_path / "pkg"
    shutil.copytree(CONTENT, pkg)
    path = pkg / "data" / "notices.json"
    notices = json.loads(path.read_text("utf-8"))
    notices["items"][0]["title"]["ja"] = "🚒 消防訓練（𠮷野家前）"
    path.write_text(json.dumps(notices, ensure_ascii=False), "utf-8")
    write_manifest_hashes(pkg)
    with caplog.at_level("WARNING"):
        install(pkg, tmp_path / "state", try_render=True)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"signage: {path}: items[0].title.ja: U+1F692 '🚒' has no glyph in any installed font"
        " (it would show as a box): use another character"
    ]
    out = tmp_path / "notices.png"
    args = ["signage", "render", "--content", str(pkg), "--scene", "notices", "--lang", "ja"]
    assert main(args + ["--size", "1920x1080", "--out", str(out)]) == 0
    assert "render: warning: " + warnings[0][len("signage: ") :] in capsys.readouterr().err
    config = _node_config(tmp_path)
    assert main(["signage", "emergency", "--config", str(config), "--text", "ja=🚒 火災"]) == 0
    err = capsys.readouterr().err
    assert "warning: --text ja: U+1F692 '🚒' has no glyph" in err and "𠮷" not in err
    assert read_emergency(tmp_path / "signage-state").text == {"ja": "🚒 火災"}  # still shown


def test_cmap_reader_agrees_with_fonttools():
    """The small cmap reader (ranges only) gives exactly fontTools' code points."""
    from fontTools.ttLib import TTFont

    from signage_player.cmap import read_coverage
    from signage_player.fonts import find_face

    for lang in ("ja", "zh-Hans"):
        face = find_face(lang, True)
        number = face.index if face.path.suffix == ".ttc" else -1
        with TTFont(face.path, fontNumber=number, lazy=True) as font:
            want = set(font.getBestCmap())
        got = read_coverage(face.path, face.index)
        assert [c for c in range(0x30000) if (c in got) != (c in want)] == []


def test_install_checks_the_layout_the_sign_shows(tmp_path, capsys):
    """A title that fits a normal sign but not a large-text portrait one: `install` for
    each sign agrees with `render` for that sign's layout."""
    from walkway.cli import main

    pkg = _with_notice_title(tmp_path, LONG_TITLE)
    render = ["signage", "render", "--content", str(pkg), "--scene", "notices", "--lang", "en"]
    out = str(tmp_path / "n.png")
    assert main(render + ["--size", "1080x1920", "--out", out]) == 0
    assert main(render + ["--size", "1080x1920", "--out", out, "--accessible"]) == 1
    normal = _node_config(tmp_path)  # 1920x1080, normal text
    assert main(["signage", "install", str(pkg), "--config", str(normal)]) == 0
    large = tmp_path / "large.toml"
    large.write_text(
        normal.read_text().replace("width = 1920\nheight = 1080", "width = 1080\nheight = 1920")
        + 'accessible = true\nstate_dir = "large-state"\n'
    )
    assert main(["signage", "install", str(pkg), "--config", str(large)]) == 2
    err = capsys.readouterr().err
    assert "notice0.title[en] does not fit at 1080x1920 (accessible)" in err
    assert load_current(tmp_path / "large-state") is None


def test_start_up_plays_a_package_with_cut_text_only_when_nothing_else_is_installed(
    tmp_path, caplog
):
    from signage_player.config import SignageConfig
    from signage_player.startup import ensure_content

    state = tmp_path / "state"
    tiny = SignageConfig(content=CONTENT, state_dir=state, width=320, height=180)
    with caplog.at_level("ERROR"):
        assert ensure_content(tiny).id == "sapporo-centre"  # a dark sign shows no emergency
    assert "does not fit at 320x180" in caplog.text and "playing it anyway" in caplog.text
    caplog.clear()
    newer = _with_version(tmp_path, "2027.1.1")
    tiny = SignageConfig(content=newer, state_dir=state, width=320, height=180)
    with caplog.at_level("ERROR"):
        assert ensure_content(tiny).version == "2026.11.24"  # refused: the old one plays on
    assert "new content rejected" in caplog.text and "does not fit at 320x180" in caplog.text
