"""Walking route from this sign: minutes, steps and kcal, a schematic map, more places."""

from signage_player.canvas import Box, Canvas
from signage_player.i18n import number, pick, walk_kcal, walk_minutes, walk_steps
from signage_player.scenes.common import SceneContext, frame, inset, line_h, split
from signage_player.scenes.mapview import draw_map


def figures(canvas: Canvas, ctx: SceneContext, box: Box, distance_m: float, name: str) -> int:
    """Three tiles (minutes, steps, kcal); returns their height."""
    m, pal = canvas.metrics, canvas.palette
    gap = m.margin // 2
    tile_w = (box[2] - 2 * gap) // 3
    tile_h = min(box[3], line_h(canvas, "display") + line_h(canvas, "label") + m.margin)
    values = [
        (number(walk_minutes(distance_m)), ctx.t("minutes")),
        (number(walk_steps(distance_m)), ctx.t("steps")),
        (number(walk_kcal(distance_m)), ctx.t("kcal")),
    ]
    for i, (value, unit) in enumerate(values):
        tile = (box[0] + i * (tile_w + gap), box[1], tile_w, tile_h)
        canvas.fill(tile, pal.panel, radius=gap)
        x, y, w, h = inset(tile, gap)
        uh = line_h(canvas, "label")
        canvas.text(
            f"{name}.fig{i}",
            (x, y, w, h - uh),
            value,
            "display",
            pal.highlight,
            align="center",
            valign="middle",
            max_lines=1,
            lang="en",
        )
        canvas.text(
            f"{name}.unit{i}",
            (x, y + h - uh, w, uh),
            unit,
            "label",
            pal.text,
            align="center",
            max_lines=1,
        )
    return tile_h


def paint(canvas: Canvas, ctx: SceneContext, body: Box | None = None) -> None:
    data = ctx.data
    body = frame(canvas, ctx, pick(data["title"], ctx.lang))
    m, pal = canvas.metrics, canvas.palette
    gap = m.margin
    routes = [r for r in data["routes"] if r["path"][0] == ctx.location] or data["routes"]
    main = next((r for r in routes if r["to"] == data.get("featured")), routes[0])
    map_box, side = split(body, 0.46 if m.portrait else 0.5, m.portrait, gap)
    draw_map(canvas, ctx, map_box, data.get("network", []), main["path"])
    x, y, w, h = side
    img = ctx.package.assets.get("assets/walk.png")
    head_h = line_h(canvas, "title", 1)
    icon = head_h if img is not None else 0
    canvas.image(_asset(ctx, "assets/walk.png"), (x, y, icon, icon))
    canvas.text(
        "route.to",
        (x + icon + gap // 2, y, w - icon - gap // 2, head_h),
        ctx.t("to_place", place=ctx.place(main["to"])),
        "title",
        pal.highlight,
        max_lines=1,
    )
    y += head_h + gap // 2
    y += figures(canvas, ctx, (x, y, w, h - (y - side[1])), main["distance_m"], "route") + gap // 2
    if "note" in main:
        f = canvas.text(
            "route.note",
            (x, y, w, line_h(canvas, "body", 2)),
            pick(main["note"], ctx.lang),
            "body",
            pal.text,
            max_lines=2,
        )
        y += f.height + gap // 2
    others = [r for r in routes if r is not main]
    row = int(line_h(canvas, "body") * 1.2)
    room = (side[1] + h - y - row) // row
    if room >= 1 and others:
        canvas.text(
            "route.more", (x, y, w, row), ctx.t("more_places"), "body", pal.accent, max_lines=1
        )
        y += row
        for i, r in enumerate(others[:room]):
            half = int(w * 0.6)
            canvas.text(
                f"route.other{i}",
                (x, y, half, row),
                ctx.place(r["to"]),
                "body",
                pal.text,
                max_lines=1,
            )
            canvas.text(
                f"route.walk{i}",
                (x + half, y, w - half, row),
                ctx.t("walk_min", n=walk_minutes(r["distance_m"])),
                "body",
                pal.text,
                align="right",
                max_lines=1,
            )
            y += row


def _asset(ctx: SceneContext, path: str) -> object:
    """An asset as a pygame Surface (decoded once per package, cached on the package's data)."""
    from signage_player.assets import surface

    return surface(ctx.package, path)
