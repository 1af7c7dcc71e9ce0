"""Golden images: a picture compared with its reference at 1/4 size, or the reference
(re)written when WALKWAY_UPDATE_GOLDEN=1 (after an intended change; look at the new ones)."""

import os
from pathlib import Path
from typing import Any

SCALE = 4
MEAN_TOLERANCE = 1.5  # mean absolute difference, 0-255 per channel
PIXEL_THRESHOLD = 64  # a pixel "differs" when a channel is off by more than this
PIXEL_SHARE = 0.004  # at most 0.4 % of pixels may differ


def assert_matches_golden(frame: Any, ref: Path) -> None:
    import numpy as np
    import pygame

    w, h = frame.get_size()
    small = pygame.transform.smoothscale(frame, (w // SCALE, h // SCALE))
    if os.environ.get("WALKWAY_UPDATE_GOLDEN") == "1":
        ref.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(small, str(ref))
        return
    assert ref.exists(), f"{ref} missing: run with WALKWAY_UPDATE_GOLDEN=1 to create it"
    want = pygame.surfarray.array3d(pygame.image.load(str(ref))).astype(np.int16)
    got = pygame.surfarray.array3d(small).astype(np.int16)
    assert want.shape == got.shape, f"{ref.name}: size {got.shape} != {want.shape}"
    diff = np.abs(want - got)
    mean = float(diff.mean())
    share = float((diff.max(axis=2) > PIXEL_THRESHOLD).mean())
    assert mean <= MEAN_TOLERANCE and share <= PIXEL_SHARE, (
        f"{ref.name}: mean diff {mean:.2f} (max {MEAN_TOLERANCE}), "
        f"{share:.2%} pixels differ (max {PIXEL_SHARE:.1%})"
    )


def assert_ink_inside(ink: list, where: str) -> None:
    """No glyph's ink leaves its text's box (descenders, accents, ポ's handakuten: nothing
    drawn next to the box can cut them), and no line's raster is shorter than its glyph
    outlines (a clipped descender). `ink` is what a Canvas recorded (Canvas(ink=[]))."""
    assert ink, f"{where}: no ink recorded"
    for r in ink:
        x, y, w, h = r.box
        ix, iy, iw, ih = r.ink
        at = f"{where} {r.name}: ink {r.ink} vs box {r.box}"
        assert not r.clipped, f"{at}: raster clipped in {r.clipped}"
        assert x <= ix and ix + iw <= x + w, f"{at}: ink outside the box's sides"
        assert y <= iy and iy + ih <= y + h, f"{at}: ink above or below the box"
