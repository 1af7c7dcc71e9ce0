"""Immediate-mode drawing that records how every text was fitted.

A scene draws through a Canvas: `text()` fits the text into its box (wrap, then shrink) and
records a FitRecord, so tests can assert that nothing was cut for every scene and language.
With `surface=None` the canvas only measures (fast structural checks).
"""

import functools
from dataclasses import dataclass, field
from typing import Any

from signage_player.style import Colour, Metrics, Palette
from signage_player.textfit import EM_ASCENT, Fit, fit

Box = tuple[int, int, int, int]  # x, y, w, h
# Fitting (wrap, then shrink) is most of a repaint; the same texts in the same boxes come back
# on every screen of the interactive mode (bar, chips), so results are kept, bounded.
_fit = functools.lru_cache(maxsize=4096)(fit)


@dataclass(frozen=True)
class FitRecord:
    name: str
    box: Box
    fit: Fit


@dataclass(frozen=True)
class InkRecord:
    """Where a drawn text's pixels are (screen coordinates) and whether a line's raster was
    shorter than its glyphs' outlines (a clipped descender or accent)."""

    name: str
    box: Box
    ink: Box
    clipped: tuple[str, ...]


@dataclass
class Canvas:
    fonts: Any
    metrics: Metrics
    palette: Palette
    lang: str
    surface: Any = None
    fits: list[FitRecord] = field(default_factory=list)
    ink: list[InkRecord] | None = None  # tests: where each text's pixels landed

    @property
    def size(self) -> tuple[int, int]:
        return self.metrics.width, self.metrics.height

    def fill(self, box: Box, colour: Colour, radius: int = 0, outline: bool = True) -> None:
        if self.surface is None:
            return
        import pygame

        rect = pygame.Rect(box)
        pygame.draw.rect(self.surface, colour, rect, border_radius=radius)
        if outline and self.palette.border and colour == self.palette.panel:
            pygame.draw.rect(
                self.surface, self.palette.text, rect, self.palette.border, border_radius=radius
            )

    def text(
        self,
        name: str,
        box: Box,
        text: str,
        role: str = "body",
        colour: Colour | None = None,
        *,
        align: str = "left",
        valign: str = "top",
        bold: bool = True,
        max_lines: int = 0,
        lang: str | None = None,
        pref_scale: float = 1.0,
        max_size: int = 0,
        min_size: int = 0,
        backdrop: Colour | None = None,
    ) -> Fit:
        """Fit and draw `text` in `box`; returns the Fit (its height tells where to go on).

        `max_size` caps the preferred size (to give a list's items one size, see
        scenes.common.uniform_size); `min_size` raises the floor (a title never shrinks below
        its body text). `backdrop` paints a plate behind each line (map labels
        stay legible over lines)."""
        lang = lang or self.lang
        pref, low = self.metrics.role(role)
        low = max(low, min_size)
        x, y, w, h = box
        result = _fit(
            self.fonts,
            text,
            lang,
            max(1, w),
            max(1, h),
            max(low, min(int(pref * pref_scale), max_size or 10**6)),
            low,
            bold=bold,
            max_lines=max_lines,
        )
        self.fits.append(FitRecord(f"{name}[{lang}]", box, result))
        if self.surface is not None:
            font = self.fonts.font(lang, result.size, bold)
            colour = colour or self.palette.text
            if valign == "middle":
                y += (h - result.height) // 2
            elif valign == "bottom":
                y += h - result.height
            # Layout uses the em box (CJK ideographs fill ~0.88 em above the baseline). Noto
            # CJK reports a tall ascent for its line gap, so place baselines ourselves: the same
            # text then takes the same room in every language's face.
            shift = font.get_ascent() - round(result.size * EM_ASCENT)
            inked: list = []
            for i, line in enumerate(result.lines):
                if not line:
                    continue
                img = font.render(line, True, colour)
                lx = x
                if align == "center":
                    lx = x + (w - img.get_width()) // 2
                elif align == "right":
                    lx = x + w - img.get_width()
                top = y + result.lead + i * result.line_height
                if backdrop is not None:
                    pad = max(2, result.size // 8)
                    self.fill(
                        (lx - pad, top - pad // 2, img.get_width() + 2 * pad, result.size + pad),
                        backdrop,
                        radius=pad,
                        outline=False,
                    )
                self.surface.blit(img, (lx, top - shift))
                if self.ink is not None:
                    inked.append((lx, top - shift, img, line, font))
            if self.ink is not None:
                self._record_ink(f"{name}[{lang}]", box, inked)
        return result

    def _record_ink(self, name: str, box: Box, inked: list) -> None:
        rects, clipped = [], []
        for lx, ly, img, line, font in inked:
            r = img.get_bounding_rect()
            if r.width:
                rects.append(r.move(lx, ly))
            if font.ink_depth(line) > img.get_height():
                clipped.append(line)
        if rects:
            ink = rects[0].unionall(rects[1:])
            self.ink.append(InkRecord(name, box, (ink.x, ink.y, ink.w, ink.h), tuple(clipped)))

    def measure(self, text: str, role: str = "body", lang: str | None = None) -> tuple[int, int]:
        """Width and height of one line at the role's preferred size."""
        size = self.metrics.role(role)[0]
        font = self.fonts.font(lang or self.lang, size, True)
        return font.size(text)

    def line(self, a: tuple[int, int], b: tuple[int, int], colour: Colour, width: int) -> None:
        if self.surface is not None:
            import pygame

            pygame.draw.line(self.surface, colour, a, b, width)

    def circle(self, c: tuple[int, int], r: int, colour: Colour, width: int = 0) -> None:
        if self.surface is not None:
            import pygame

            pygame.draw.circle(self.surface, colour, c, r, width)

    def polygon(self, points: list[tuple[int, int]], colour: Colour) -> None:
        if self.surface is not None:
            import pygame

            pygame.draw.polygon(self.surface, colour, points)

    def image(self, img: Any, box: Box) -> None:
        """Blit an asset scaled to fit `box` keeping its aspect ratio, centred."""
        if self.surface is None or img is None:
            return
        import pygame

        x, y, w, h = box
        iw, ih = img.get_size()
        scale = min(w / iw, h / ih)
        scaled = pygame.transform.smoothscale(
            img, (max(1, int(iw * scale)), max(1, int(ih * scale)))
        )
        self.surface.blit(
            scaled, (x + (w - scaled.get_width()) // 2, y + (h - scaled.get_height()) // 2)
        )
