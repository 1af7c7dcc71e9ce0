"""Image slides: a full-screen PNG from the package's assets, contain/cover/stretch, golden
images; a missing or undecodable image is refused at build (and so at install)."""

import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from signage_player.authoring.build import build, lint
from signage_player.scenes.image import target_rect

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "tests" / "data" / "content_src"
GOLDEN = ROOT / "tests" / "data" / "signage"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
SCALE, MEAN_TOLERANCE, PIXEL_THRESHOLD, PIXEL_SHARE = 4, 1.5, 40, 0.01


def test_target_rect_modes():
    assert target_rect((1200, 800), (1920, 1080), "contain") == (150, 0, 1620, 1080)
    assert target_rect((1200, 800), (1080, 1920), "cover") == (-900, 0, 2880, 1920)
    assert target_rect((1200, 800), (1080, 1920), "stretch") == (0, 0, 1080, 1920)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("img") / "pkg"
    return build(SRC, out, now=NOW, sizes=((1920, 1080),))


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_image_slide_golden(package, size):
    import numpy as np
    import pygame

    from signage_player.offscreen import render_scene

    frame, shown = render_scene(package, "poster", "en", size)
    assert not shown.overflows
    got_full = pygame.surfarray.array3d(frame)
    if size == (1080, 1920):  # contain on a portrait screen: bands of background above/below
        assert tuple(got_full[540, 10]) == (0x0B, 0x25, 0x45)
    small = pygame.transform.smoothscale(frame, (size[0] // SCALE, size[1] // SCALE))
    ref = GOLDEN / f"image-poster-en-{size[0]}x{size[1]}.png"
    if os.environ.get("WALKWAY_UPDATE_GOLDEN") == "1":
        pygame.image.save(small, str(ref))
        return
    assert ref.exists(), f"{ref} missing: run with WALKWAY_UPDATE_GOLDEN=1 to create it"
    want = pygame.surfarray.array3d(pygame.image.load(str(ref))).astype(np.int16)
    diff = np.abs(want - pygame.surfarray.array3d(small).astype(np.int16))
    assert float(diff.mean()) <= MEAN_TOLERANCE
    assert float((diff.max(axis=2) > PIXEL_THRESHOLD).mean()) <= PIXEL_SHARE


def test_missing_and_broken_images_are_refused(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(SRC, src)
    scene = src / "scenes" / "09-poster.toml"
    scene.write_text(scene.read_text().replace("assets/poster.png", "assets/nope.png"))
    lines = [str(p) for p in lint(src, now=NOW, sizes=((1920, 1080),)).items]
    assert any("09-poster.toml" in ln and "nope.png" in ln and "not in the manifest" in ln
               for ln in lines), lines
    scene.write_text(scene.read_text().replace("assets/nope.png", "assets/poster.png"))
    (src / "assets" / "poster.png").write_bytes(b"not a png")
    lines = [str(p) for p in lint(src, now=NOW, sizes=((1920, 1080),)).items]
    assert any("not a readable PNG or JPEG" in ln for ln in lines), lines
