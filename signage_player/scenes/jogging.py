"""Jogging courses for suburban signs, matched to the day: before an upcoming race a harder
cardio course; on snow or ice only courses marked `winter_ok`; otherwise a moderate one.
Each course says why (the science behind it)."""

from datetime import date

from signage_player.canvas import Box, Canvas
from signage_player.i18n import pick
from signage_player.scenes.common import SceneContext, frame, inset, line_h
from signage_player.scenes.weather import underground_today

RACE_SOON_DAYS = 14
ORDER = {"easy": 0, "moderate": 1, "hard": 2}


def choose(courses: list[dict], days_to_race: int | None, icy: bool) -> dict:
    """The course for today (see module docstring)."""
    pool = [c for c in courses if c["winter_ok"]] if icy else list(courses)
    pool = pool or list(courses)
    want = (
        "hard" if days_to_race is not None and 0 <= days_to_race <= RACE_SOON_DAYS else "moderate"
    )
    return min(pool, key=lambda c: abs(ORDER[c["intensity"]] - ORDER[want]))


def paint(canvas: Canvas, ctx: SceneContext, body: Box | None = None) -> None:
    data = ctx.data
    body = frame(canvas, ctx, pick(data["title"], ctx.lang))
    m, pal = canvas.metrics, canvas.palette
    gap = m.margin
    today = date.fromisoformat(data["sample"]["today"]) if ctx.live.sample else ctx.now.date()
    days = (date.fromisoformat(data["event"]["date"]) - today).days
    rules = {
        "underground_at_or_below_c": 0.0,
        "underground_snow_depth_mm": 30,
        "underground_snowfall_mm_h": 0.5,
    }
    icy = underground_today(ctx.live.weather, rules)
    pick_c = choose(data["courses"], days, icy)
    x, y, w, h = body
    if 0 <= days <= RACE_SOON_DAYS:
        f = canvas.text(
            "jog.event",
            (x, y, w, line_h(canvas, "heading", 2)),
            ctx.t("event_soon", event=pick(data["event"]["name"], ctx.lang), n=days),
            "heading",
            pal.accent,
            max_lines=2,
        )
        y += f.height + gap // 2
    others = [c for c in data["courses"] if c is not pick_c]
    row_h = line_h(canvas, "heading") + line_h(canvas, "body") + gap
    card_need = (
        line_h(canvas, "body", 4) + line_h(canvas, "title") + line_h(canvas, "heading") + 3 * gap
    )
    fit_rows = max(0, (body[1] + h - y - card_need) // (row_h + gap // 2))
    list_h = min(len(others), fit_rows) * (row_h + gap // 2)
    card = (x, y, w, body[1] + h - y - list_h - gap // 2)
    canvas.fill(card, pal.panel, radius=gap // 2)
    cx, cy, cw, ch = inset(card, gap)
    lab = canvas.text(
        "jog.pick",
        (cx, cy, cw, line_h(canvas, "body")),
        ctx.t("recommended"),
        "body",
        pal.highlight,
        max_lines=1,
    )
    cy += lab.height + gap // 4
    name = canvas.text(
        "jog.name",
        (cx, cy, cw, line_h(canvas, "title")),
        ctx.place(pick_c["place"]),
        "title",
        pal.text,
        max_lines=1,
    )
    cy += name.height + gap // 3
    canvas.text(
        "jog.facts",
        (cx, cy, cw, line_h(canvas, "heading")),
        _facts(ctx, pick_c),
        "heading",
        pal.accent,
        max_lines=1,
    )
    cy += line_h(canvas, "heading") + gap // 3
    canvas.text(
        "jog.why",
        (cx, cy, cw, card[1] + card[3] - gap - cy),
        pick(pick_c["why"], ctx.lang),
        "body",
        pal.text,
        pref_scale=1.6,  # the reason is the point of this sign: as large as the card allows
    )
    y = card[1] + card[3] + gap // 2
    for i, c in enumerate(others):
        if y + row_h > body[1] + h + 1:
            break
        row = (x, y, w, row_h)
        canvas.fill(row, pal.panel, radius=gap // 2)
        rx, ry, rw, rh = inset(row, gap // 2)
        half = line_h(canvas, "heading")
        canvas.text(
            f"jog.other{i}",
            (rx, ry, rw, half),
            ctx.place(c["place"]),
            "heading",
            pal.text,
            max_lines=1,
        )
        canvas.text(
            f"jog.other{i}.facts",
            (rx, ry + half, rw, rh - half),
            _facts(ctx, c),
            "body",
            pal.muted,
            max_lines=1,
        )
        y += row_h + gap // 2


def _facts(ctx: SceneContext, c: dict) -> str:
    return ctx.t(
        "course_facts",
        km=f"{c['km']:.1f}",
        m=c["climb_m"],
        level=ctx.t(f"intensity_{c['intensity']}"),
    )
