"""Community notice board: dated notices from the ward and neighbourhood associations."""

from signage_player.canvas import Box, Canvas
from signage_player.i18n import pick
from signage_player.scenes.common import SceneContext, frame, grid, inset, line_h
from signage_player.textfit import sizes


def paint(canvas: Canvas, ctx: SceneContext, body: Box | None = None) -> None:
    data = ctx.data
    body = frame(canvas, ctx, pick(data["title"], ctx.lang))
    m, pal = canvas.metrics, canvas.palette
    gap = pad = m.margin
    min_h = line_h(canvas, "heading", 2) + line_h(canvas, "body", 4) + 2 * pad
    cols = 1 if m.portrait or m.accessible else 2
    for i, (item, cell) in enumerate(
        zip(data["items"], grid(body, len(data["items"]), cols, min_h, gap), strict=False)
    ):
        canvas.fill(cell, pal.panel, radius=gap // 2)
        x, y, w, h = inset(cell, pad)
        date_w = int(m.role("heading")[0] * 3.2)
        canvas.text(
            f"notice{i}.date",
            (x, y, date_w, line_h(canvas, "heading")),
            item["date"],
            "heading",
            pal.highlight,
            max_lines=1,
            lang="en",
        )
        tx = x + date_w + pad // 2
        title, body = pick(item["title"], ctx.lang), pick(item["body"], ctx.lang)
        size, room = _balance(canvas, title, body, (x, y, w, h), w - date_w - pad // 2)
        f = canvas.text(
            f"notice{i}.title",
            (tx, y, w - date_w - pad // 2, room),
            title,
            "heading",
            pal.text,
            min_size=size,
        )
        y2 = y + max(f.height, line_h(canvas, "heading")) + pad // 2
        canvas.text(
            f"notice{i}.body", (x, y2, w, y + h - y2), body, "body", pal.muted, max_size=size
        )


def _balance(canvas: Canvas, title: str, body: str, card: Box, title_w: int) -> tuple[int, int]:
    """The body's size and the title's height in a card.

    The title takes all the room the body does not need, so it wraps to more lines before
    it shrinks, and it never shrinks below the body's size (a title smaller than its text
    reads as a footnote). Body sizes go down from the preferred one until both fit; if none
    does, the smallest is used and the cut text is reported (install refuses it)."""
    x, y, w, h = card
    pad = canvas.metrics.margin
    probe = Canvas(canvas.fonts, canvas.metrics, canvas.palette, canvas.lang)
    one = line_h(canvas, "heading")
    candidates = sizes(*canvas.metrics.role("body"))
    for size in candidates:
        b = probe.text("probe", (x, y, w, h - one), body, "body", max_size=size, min_size=size)
        room = max(one, h - b.height - pad // 2)
        t = probe.text("probe", (x, y, title_w, room), title, "heading", min_size=size)
        if b.ok and t.ok:
            return size, room
    return candidates[-1], max(line_h(canvas, "heading", 2), h // 3)
