"""Crowding now: people per minute on each walkway (this node's and neighbours' sensors),
and a quieter alternative, with its route on the map, when one is busy. Levels are a word
and a symbol as well as a colour (● quiet, ▲ moderate, ■ crowded), so they read without
colour vision; bars carry a fixed "busy" tick so length, not hue, tells the story."""

from signage_player.canvas import Box, Canvas
from signage_player.i18n import number, pick
from signage_player.live import level
from signage_player.scenes.common import SceneContext, frame, inset, line_h
from signage_player.scenes.mapview import draw_map


def _row(
    canvas: Canvas,
    ctx: SceneContext,
    i: int,
    wk: dict,
    rate: float | None,
    lvl: str,
    row: Box,
    colours: dict,
) -> None:
    pal, gap = canvas.palette, canvas.metrics.margin
    canvas.fill(row, pal.panel, radius=gap // 2)
    rx, ry, rw, rh = inset(row, gap // 2)
    top = line_h(canvas, "heading")
    level_w = int(rw * 0.45)
    canvas.text(
        f"walkway{i}.name",
        (rx, ry, rw - level_w - gap // 2, top),
        pick(wk["name"], ctx.lang),
        "heading",
        pal.text,
        max_lines=1,
    )
    canvas.text(
        f"walkway{i}.level",
        (rx + rw - level_w, ry, level_w, top),
        ctx.t(f"level_{lvl}"),
        "heading",
        colours[lvl],
        align="right",
        max_lines=1,
    )
    low = ry + top + gap // 4
    lh = max(line_h(canvas, "label"), ry + rh - low)
    rate_w = int(rw * 0.5)
    if rate is not None:
        canvas.text(
            f"walkway{i}.rate",
            (rx + rw - rate_w, low, rate_w, lh),
            ctx.t("per_min", n=number(rate)),
            "label",
            pal.muted,
            align="right",
            valign="middle",
            max_lines=1,
        )
    bar_w = rw - rate_w - gap
    full = max(1.0, wk["busy_per_min"] * 1.4)
    frac = 0.0 if rate is None else min(1.0, rate / full)
    bar_h = max(8, line_h(canvas, "label") // 2)
    by = low + (lh - bar_h) // 2
    canvas.fill((rx, by, bar_w, bar_h), pal.bg, radius=bar_h // 2, outline=False)
    if frac > 0:
        canvas.fill(
            (rx, by, max(bar_h, int(bar_w * frac)), bar_h),
            colours[lvl],
            radius=bar_h // 2,
            outline=False,
        )
    tick = rx + int(bar_w * wk["busy_per_min"] / full)
    canvas.line((tick, by - bar_h // 2), (tick, by + bar_h + bar_h // 2), pal.text, 3)


def paint(canvas: Canvas, ctx: SceneContext, body: Box | None = None) -> None:
    data = ctx.data
    body = frame(canvas, ctx, pick(data["title"], ctx.lang))
    m, pal = canvas.metrics, canvas.palette
    gap = m.margin
    x, y, w, h = body
    colours = {"quiet": pal.quiet, "moderate": pal.moderate, "busy": pal.busy, "unknown": pal.muted}
    walkways = data["walkways"]
    note_h = line_h(canvas, "label", 2 if m.portrait else 1)
    row_h = line_h(canvas, "heading") + line_h(canvas, "label") + gap + gap // 4
    left_w = w if m.portrait else int(w * 0.55)
    busy, unknown = [], 0
    for i, wk in enumerate(walkways):
        rate = ctx.live.flow.get(wk["id"])
        lvl = level(rate, wk)
        unknown += lvl == "unknown"
        if lvl == "busy" and "alternative" in wk:
            busy.append(wk)
        _row(canvas, ctx, i, wk, rate, lvl, (x, y, left_w, row_h), colours)
        y += row_h + gap // 2
    if m.portrait:
        box = (x, y + gap // 2, w, body[1] + h - note_h - gap - y)
    else:
        box = (x + left_w + gap, body[1], w - left_w - gap, h - note_h - gap // 2)
    canvas.fill(box, pal.panel, radius=gap // 2)
    bx, by, bw, bh = inset(box, gap)
    if busy:
        wk = busy[0]
        alt = wk["alternative"]
        head = canvas.text(
            "advice.title",
            (bx, by, bw, line_h(canvas, "title")),
            ctx.t("avoid_title"),
            "title",
            pal.highlight,
            max_lines=1,
        )
        text = ctx.t(
            "avoid",
            walkway=pick(wk["name"], ctx.lang),
            route=ctx.place(alt["place"]),
            n=alt["extra_min"],
        )
        top = by + head.height + gap // 2
        f = canvas.text(
            "advice.text",
            (bx, top, bw, line_h(canvas, "heading", 3)),
            text,
            "heading",
            pal.text,
            max_lines=3,
        )
        top += f.height + gap
        if "path" in alt and by + bh - top > line_h(canvas, "label", 2) * 3:
            crowded = list(zip(wk["path"], wk["path"][1:], strict=False))
            draw_map(
                canvas,
                ctx,
                (bx, top, bw, by + bh - top),
                crowded,
                alt["path"],
                edge_colour=pal.busy,
            )
    else:
        # "All clear" only when every walkway was counted: no data is never good news.
        key, colour = "all_clear", pal.quiet
        if unknown:
            key = "crowd_no_data" if unknown == len(walkways) else "crowd_some_no_data"
            colour = pal.muted
        canvas.text("advice.clear", (bx, by, bw, bh), ctx.t(key), "title", colour, valign="middle")
    canvas.text(
        "crowd.note",
        (x, body[1] + h - note_h, w, note_h),
        ctx.t("crowd_note", n=ctx.window_min),
        "label",
        pal.muted,
        max_lines=2,
    )
