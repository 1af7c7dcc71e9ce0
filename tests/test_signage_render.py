"""Golden images: every scene x language x orientation, plus "no text cut" everywhere.

References are stored at 1/4 size in tests/data/signage/ (small repo, still catches layout
changes). Regenerate after an intended change with:
    WALKWAY_UPDATE_GOLDEN=1 SDL_VIDEODRIVER=dummy .venv/bin/python -m pytest \
        tests/test_signage_render.py
"""

from pathlib import Path

import pytest
from support.golden import assert_ink_inside, assert_matches_golden

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "signage_player" / "example_content" / "sapporo"
GOLDEN = Path(__file__).resolve().parent / "data" / "signage"
SCENES = ("events", "route", "crowding", "weather", "health", "jogging", "notices", "emergency")
LANGS = ("ja", "en", "zh-Hans", "ko")
SIZES = ((1920, 1080), (1080, 1920))


@pytest.fixture(scope="module")
def package():
    from signage_player.content import load_package

    return load_package(CONTENT)


@pytest.fixture(scope="module")
def fonts():
    from signage_player.fonts import FontBook

    return FontBook()


def _assert_fits(shown, size):
    w, h = size
    cut = [(r.name, r.fit.lines) for r in shown.overflows]
    assert not cut, f"text cut: {cut}"
    for r in shown.fits:
        x, y, bw, bh = r.box
        assert r.fit.width <= bw and r.fit.height <= bh, f"{r.name} overflows its box"
        if r.fit.lines != ("",):
            assert 0 <= x and x + bw <= w and 0 <= y and y + bh <= h, f"{r.name} box off screen"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("scene", SCENES)
def test_golden(package, fonts, scene, lang, size):
    from support.golden import assert_ink_inside

    from signage_player.offscreen import render_scene

    ink = []
    frame, shown = render_scene(package, scene, lang, size, fonts=fonts, ink=ink)
    _assert_fits(shown, size)
    assert_ink_inside(ink, f"{scene}-{lang}-{size[0]}x{size[1]}")
    assert_matches_golden(frame, GOLDEN / f"{scene}-{lang}-{size[0]}x{size[1]}.png")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGS)
def test_accessible_mode_fits_every_scene(package, fonts, lang, size):
    from signage_player.offscreen import render_scene

    for scene in SCENES:
        ink = []
        _, shown = render_scene(package, scene, lang, size, fonts=fonts, accessible=True, ink=ink)
        _assert_fits(shown, size)
        assert_ink_inside(ink, f"{scene}-{lang}-{size[0]}x{size[1]} accessible")


def test_accessible_text_is_larger_and_high_contrast(package, fonts):
    from signage_player.offscreen import render_scene
    from signage_player.style import HIGH_CONTRAST

    frame, normal = render_scene(package, "events", "ja", (1920, 1080), fonts=fonts)
    frame2, large = render_scene(
        package, "events", "ja", (1920, 1080), fonts=fonts, accessible=True
    )
    size = {r.name: r.fit.size for r in normal.fits}
    bigger = [r for r in large.fits if r.name in size and r.fit.size > size[r.name]]
    assert len(bigger) >= len(large.fits) // 2
    assert tuple(frame2.get_at((5, 300)))[:3] == HIGH_CONTRAST.bg


@pytest.mark.parametrize("distance, floor_mm", [(4.5, 19.8), (10.0, 44.0)])
def test_text_never_below_the_guideline_height(package, fonts, distance, floor_mm):
    """MLIT: ~20 mm at 4-5 m, ~40 mm at 10 m; no text may shrink below that."""
    from signage_player.offscreen import render_scene
    from signage_player.style import CJK_GLYPH_EM, metrics

    m = metrics(1920, 1080, viewing_distance_m=distance)
    for scene in SCENES:
        _, shown = render_scene(
            package, scene, "ja", (1920, 1080), fonts=fonts, viewing_distance_m=distance, draw=False
        )
        for r in shown.fits:
            glyph_mm = r.fit.size * CJK_GLYPH_EM / m.px_per_mm
            assert glyph_mm >= floor_mm - 0.5, f"{scene}: {r.name} is {glyph_mm:.1f} mm"
