"""What every scene shares: context, the header/footer frame and a card grid."""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signage_player.canvas import Box, Canvas
from signage_player.i18n import LANGUAGE_NAMES, place_name, tr
from signage_player.style import Metrics


@dataclass(frozen=True)
class SceneContext:
    package: Any
    spec: Any  # SceneSpec
    lang: str
    languages: tuple[str, ...]
    live: Any  # live.Live
    now: datetime  # local time, injected (golden renders use a fixed one)
    location: str
    emergency: Any = None  # emergency.Emergency for the emergency scene
    window_min: int = 5  # crowding average window

    @property
    def data(self) -> dict:
        return self.package.data[self.spec.data]

    def t(self, key: str, **values: Any) -> str:
        return tr(self.package, key, self.lang, **values)

    def place(self, place: str) -> str:
        return place_name(self.package, place, self.lang)


def header_height(canvas: Canvas) -> int:
    return header_height_for(canvas.metrics)


def header_height_for(m: Metrics) -> int:
    """Landscape: title and "you are here" side by side; portrait: stacked. (The
    interactive screens' Layout sizes its header with this too.)"""
    title = int(m.role("title")[0] * 1.75)
    if m.portrait:
        return title + line_h_for(m, "label") + m.margin // 2
    return title


def draw_header(canvas: Canvas, title: str, here: str) -> int:
    """The header bar every scene and interactive screen shares: the title and "you are
    here"; returns its height."""
    m, pal = canvas.metrics, canvas.palette
    w = canvas.size[0]
    pad = m.margin
    hh = header_height(canvas)
    canvas.fill((0, 0, w, hh), pal.header, outline=False)
    if pal.border:
        canvas.fill((0, hh - pal.border, w, pal.border), pal.text, outline=False)
    if m.portrait:
        th = int(m.role("title")[0] * 1.75)
        canvas.text(
            "title",
            (pad, 0, w - 2 * pad, th),
            title,
            "title",
            pal.text,
            valign="middle",
            max_lines=1,
        )
        canvas.text(
            "here", (pad, th - pad // 4, w - 2 * pad, hh - th), here, "label", pal.text, max_lines=1
        )
    else:
        split = 0.62
        canvas.text(
            "title",
            (pad, 0, int(w * split) - pad, hh),
            title,
            "title",
            pal.text,
            valign="middle",
            max_lines=1,
        )
        canvas.text(
            "here",
            (int(w * split) + pad // 2, 0, int(w * (1 - split)) - pad - pad // 2, hh),
            here,
            "label",
            pal.text,
            align="right",
            valign="middle",
            max_lines=2,
        )
    return hh


def footer_height(canvas: Canvas) -> int:
    return int(canvas.metrics.role("label")[0] * 2.0)


def clock_box(canvas: Canvas) -> Box:
    """Where the player draws the live clock (kept out of the cached scene image)."""
    w, h = canvas.size
    fh = footer_height(canvas)
    cw = int(canvas.metrics.role("label")[0] * 3.6)
    return (w - canvas.metrics.margin - cw, h - fh, cw, fh)


def frame(canvas: Canvas, ctx: SceneContext, title: str) -> Box:
    """Background, header (title + "you are here") and footer (languages); returns the body box."""
    m, pal = canvas.metrics, canvas.palette
    w, h = canvas.size
    pad = m.margin
    fh = footer_height(canvas)
    canvas.fill((0, 0, w, h), pal.bg, outline=False)
    hh = draw_header(canvas, title, ctx.t("you_are_here", place=ctx.place(ctx.location)))
    # Footer: every language's name in its own script, the current one marked, so a
    # visitor knows their language is coming.
    y = h - fh
    canvas.fill((0, y, w, fh), pal.panel, outline=False)
    cb = clock_box(canvas)
    x = pad
    for lang in ctx.languages:
        name = LANGUAGE_NAMES[lang]
        tw, _ = canvas.measure(name, "label", lang)
        bw = tw + pad
        if x + bw > cb[0]:
            break
        if lang == ctx.lang:
            canvas.fill(
                (x, y + fh // 8, bw, fh - fh // 4), pal.accent, radius=fh // 6, outline=False
            )
        colour = pal.bg if lang == ctx.lang else pal.muted
        canvas.text(
            f"lang-{lang}",
            (x + pad // 2 - 2, y, tw + 4, fh),
            name,
            "label",
            colour,
            valign="middle",
            max_lines=1,
            lang=lang,
        )
        x += bw + pad // 2
    return (pad, hh + pad, w - 2 * pad, h - hh - fh - 2 * pad)


def uniform_size(canvas: Canvas, items: list[tuple[Box, str]], role: str, **options: Any) -> int:
    """The size at which every (box, text) of a list fits: items of one list share a size
    (a list whose titles jump between sizes reads as ranked by importance)."""
    probe = Canvas(canvas.fonts, canvas.metrics, canvas.palette, canvas.lang)
    return min(
        (probe.text("probe", box, text, role, **options).size for box, text in items), default=0
    )


def grid(body: Box, count: int, cols: int, min_h: int, gap: int) -> list[Box]:
    """Up to `count` cells in `cols` columns, as many rows as keep each cell >= min_h."""
    x, y, w, h = body
    rows_needed = -(-count // cols)
    rows = max(1, min(rows_needed, (h + gap) // (min_h + gap)))
    cw = (w - gap * (cols - 1)) // cols
    rh = (h - gap * (rows - 1)) // rows
    cells = []
    for i in range(min(count, rows * cols)):
        r, c = divmod(i, cols)
        cells.append((x + c * (cw + gap), y + r * (rh + gap), cw, rh))
    return cells


def split(box: Box, fraction: float, vertical: bool, gap: int) -> tuple[Box, Box]:
    """Two boxes: the first takes `fraction` of the width (or height if vertical)."""
    x, y, w, h = box
    if vertical:
        a = int((h - gap) * fraction)
        return (x, y, w, a), (x, y + a + gap, w, h - a - gap)
    a = int((w - gap) * fraction)
    return (x, y, a, h), (x + a + gap, y, w - a - gap, h)


def inset(box: Box, d: int) -> Box:
    x, y, w, h = box
    return (x + d, y + d, max(1, w - 2 * d), max(1, h - 2 * d))


def line_h(canvas: Canvas, role: str, lines: int = 1) -> int:
    """Height of `lines` lines of `role` at its minimum size (for sizing grids)."""
    return line_h_for(canvas.metrics, role, lines)


def line_h_for(m: Metrics, role: str, lines: int = 1) -> int:
    low = m.role(role)[1]
    # Rounded up: a box must hold the ink (descenders, marks) at small sizes too.
    return math.ceil(low * 1.25 * (lines - 1) + low * 1.15)
