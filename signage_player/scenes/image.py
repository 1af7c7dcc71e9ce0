"""Full-screen image slide (PNG or JPEG from the package's assets).

Data: {"image": "assets/poster.png", "fit": "contain" | "cover" | "stretch",
       "background": "#0b2545", "caption": {"ja": ..., ...} (optional)}
- contain: the whole image, letterboxed on `background` (default);
- cover: fills the screen, cropped in the middle;
- stretch: fills the screen, aspect ratio not kept.
The image is decoded at layout time too (install's check), so a package with an asset that
is missing or does not decode is refused before it reaches the street.
"""

import io
from typing import Any

from signage_player.canvas import Canvas
from signage_player.i18n import pick
from signage_player.scenes.common import SceneContext, footer_height, line_h

FITS = ("contain", "cover", "stretch")
DEFAULT_BACKGROUND = "#000000"


def _colour(text: str) -> tuple[int, int, int]:
    value = text.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"background: expected #RRGGBB, got {text!r}")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def target_rect(image: tuple[int, int], screen: tuple[int, int], fit: str) -> tuple[int, ...]:
    """Where the scaled image goes: (x, y, w, h), possibly larger than the screen (cover)."""
    iw, ih = image
    sw, sh = screen
    if fit == "stretch":
        return 0, 0, sw, sh
    scale = (max if fit == "cover" else min)(sw / iw, sh / ih)
    w, h = max(1, round(iw * scale)), max(1, round(ih * scale))
    return (sw - w) // 2, (sh - h) // 2, w, h


def load(ctx: SceneContext) -> Any:
    import pygame

    rel = ctx.data["image"]
    blob = ctx.package.assets.get(rel)
    if blob is None:
        raise KeyError(f"image: {rel!r} is not in the manifest's assets")
    try:
        return pygame.image.load(io.BytesIO(blob), rel)
    except pygame.error as exc:
        raise ValueError(f"image: {rel!r} is not a readable PNG or JPEG: {exc}") from exc


def paint(canvas: Canvas, ctx: SceneContext, body: Any = None) -> None:
    import pygame

    data = ctx.data
    fit = data.get("fit", "contain")
    if fit not in FITS:
        raise ValueError(f"fit: expected one of {', '.join(FITS)}, got {fit!r}")
    background = _colour(data.get("background", DEFAULT_BACKGROUND))
    image = load(ctx)
    w, h = canvas.size
    if canvas.surface is not None:
        canvas.surface.fill(background)
        x, y, tw, th = target_rect(image.get_size(), (w, h), fit)
        scaled = pygame.transform.smoothscale(image.convert(canvas.surface) if
                                              pygame.display.get_init() and
                                              pygame.display.get_surface() else image, (tw, th))
        canvas.surface.blit(scaled, (x, y))
    if "caption" in data:
        m = canvas.metrics
        # Above the footer, where the clock goes (Renderer.compose).
        tall = line_h(canvas, "heading", 2)
        band = (m.margin, h - footer_height(canvas) - tall - m.margin, w - 2 * m.margin, tall)
        canvas.text("caption", band, pick(data["caption"], ctx.lang), "heading",
                    canvas.palette.text, align="center", valign="middle", max_lines=2,
                    backdrop=canvas.palette.header)
