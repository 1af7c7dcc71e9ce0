"""The health-points programme (健幸ポイント): how walking earns points, and the city's goal
of +1,500 steps a day shown as minutes and kcal."""

from signage_player.canvas import Box, Canvas
from signage_player.i18n import STRIDE_M, number, pick, walk_kcal, walk_minutes
from signage_player.scenes.common import SceneContext, frame, inset, line_h

GOAL_EXTRA_STEPS = 1500  # the Smart Wellness City KPI: +1,500 steps a day


def paint(canvas: Canvas, ctx: SceneContext, body: Box | None = None) -> None:
    data = ctx.data
    body = frame(canvas, ctx, pick(data["title"], ctx.lang))
    m, pal = canvas.metrics, canvas.palette
    gap = m.margin
    x, y, w, h = body
    f = canvas.text(
        "health.lead",
        (x, y, w, line_h(canvas, "heading", 2)),
        pick(data["lead"], ctx.lang),
        "heading",
        pal.text,
        max_lines=2,
    )
    y += f.height + gap
    rules = data["rules"]
    how_h = line_h(canvas, "body", 2 if m.portrait else 1)
    foot_h = line_h(canvas, "heading", 2) + how_h * 2 + 3 * gap
    room = body[1] + h - foot_h - y
    row_min = line_h(canvas, "heading") + gap
    shown = max(1, min(len(rules), (room + gap // 2) // (row_min + gap // 2)))
    # Rows share the room (up to a cap) and their text grows into it: fewer, larger lines.
    row_h = min(line_h(canvas, "heading", 2) * 3 // 2 + gap, (room + gap // 2) // shown - gap // 2)
    for i, rule in enumerate(rules[:shown]):
        row = (x, y, w, row_h)
        canvas.fill(row, pal.panel, radius=gap // 2)
        rx, ry, rw, rh = inset(row, gap // 2)
        pts_w = int(rw * (0.36 if m.portrait else 0.26))
        canvas.text(
            f"rule{i}.what",
            (rx, ry, rw - pts_w - gap, rh),
            pick(rule["what"], ctx.lang),
            "heading",
            pal.text,
            valign="middle",
            max_lines=2,
            pref_scale=1.3,
        )
        canvas.text(
            f"rule{i}.points",
            (rx + rw - pts_w, ry, pts_w, rh),
            ctx.t("points", n=rule["points"]),
            "heading",
            pal.highlight,
            align="right",
            valign="middle",
            max_lines=1,
            pref_scale=1.3,
        )
        y += row_h + gap // 2
    y = body[1] + h - foot_h + gap
    goal = (x, y, w, foot_h - gap - how_h - gap // 2)
    canvas.fill(goal, pal.header if pal.border == 0 else pal.panel, radius=gap // 2)
    gx, gy, gw, gh = inset(goal, gap // 2)
    d = GOAL_EXTRA_STEPS * STRIDE_M
    avg = canvas.text(
        "health.avg",
        (gx, gy, gw, how_h),
        ctx.t("avg_steps", n=number(data["sample"]["city_avg_steps"])),
        "body",
        pal.text,
        max_lines=2,
    )
    canvas.text(
        "health.goal",
        (gx, gy + avg.height, gw, gh - avg.height),
        ctx.t("goal_steps", min=walk_minutes(d), kcal=walk_kcal(d)),
        "heading",
        pal.text,
        valign="middle",
        max_lines=2,
        pref_scale=1.3,
    )
    canvas.text(
        "health.how",
        (x, body[1] + h - how_h, w, how_h),
        pick(data["how"], ctx.lang),
        "body",
        pal.accent,
        max_lines=2,
    )
