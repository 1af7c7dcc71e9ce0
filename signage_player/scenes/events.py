"""Events: what, where, when, and how many minutes' walk from this sign."""

from signage_player.canvas import Box, Canvas
from signage_player.i18n import pick, walk_minutes
from signage_player.scenes.common import (
    SceneContext,
    frame,
    grid,
    inset,
    line_h,
    uniform_size,
)


def paint(canvas: Canvas, ctx: SceneContext, body: Box | None = None) -> None:
    data = ctx.data
    body = frame(canvas, ctx, pick(data["title"], ctx.lang))
    m, pal = canvas.metrics, canvas.palette
    gap = m.margin
    pad = m.margin
    min_h = (
        line_h(canvas, "heading", 2)
        + line_h(canvas, "body", 4)
        + line_h(canvas, "heading")
        + 2 * pad
    )
    cols = 1 if m.portrait else 2
    cells = grid(body, len(data["items"]), cols, min_h, gap)
    title_size = uniform_size(
        canvas,
        [
            (_title_box(canvas, c), pick(it["title"], ctx.lang))
            for it, c in zip(data["items"], cells, strict=False)
        ],
        "heading",
        max_lines=2,
        pref_scale=1.3,
    )
    for i, (item, cell) in enumerate(zip(data["items"], cells, strict=False)):
        canvas.fill(cell, pal.panel, radius=gap // 2)
        canvas.fill((cell[0], cell[1], max(6, pad // 3), cell[3]), pal.accent, outline=False)
        x, y, w, h = _inner(canvas, cell)
        pill_h = line_h(canvas, "heading")
        f = canvas.text(
            f"event{i}.title",
            _title_box(canvas, cell),
            pick(item["title"], ctx.lang),
            "heading",
            pal.text,
            max_lines=2,
            pref_scale=1.3,
            max_size=title_size,
        )
        y2 = y + f.height + pad // 3
        info = f"{ctx.place(item['place'])}\n{pick(item['when'], ctx.lang)}"
        canvas.text(
            f"event{i}.info", (x, y2, w, y + h - pill_h - pad // 3 - y2), info, "body", pal.muted
        )
        walk = ctx.t("walk_min", n=walk_minutes(item["distance_m"]))
        canvas.text(
            f"event{i}.walk",
            (x, y + h - pill_h, w, pill_h),
            walk,
            "heading",
            pal.highlight,
            align="right",
            valign="bottom",
            max_lines=1,
        )


def _inner(canvas: Canvas, cell: Box) -> Box:
    pad = canvas.metrics.margin
    x, y, w, h = inset(cell, pad)
    return x + pad // 2, y, w - pad // 2, h


def _title_box(canvas: Canvas, cell: Box) -> Box:
    x, y, w, h = _inner(canvas, cell)
    pill_h = line_h(canvas, "heading")
    return (
        x,
        y,
        w,
        min(
            line_h(canvas, "heading", 2) * 13 // 10,
            (h - pill_h - canvas.metrics.margin // 2) * 11 // 20,
        ),
    )
