"""Community notice board: dated notices from the ward and neighbourhood associations."""

from signage_player.canvas import Box, Canvas
from signage_player.i18n import pick
from signage_player.scenes.common import SceneContext, frame, grid, inset, line_h


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
        f = canvas.text(
            f"notice{i}.title",
            (tx, y, w - date_w - pad // 2, line_h(canvas, "heading", 2)),
            pick(item["title"], ctx.lang),
            "heading",
            pal.text,
            max_lines=2,
        )
        y2 = y + max(f.height, line_h(canvas, "heading")) + pad // 2
        canvas.text(
            f"notice{i}.body",
            (x, y2, w, y + h - y2),
            pick(item["body"], ctx.lang),
            "body",
            pal.muted,
        )
