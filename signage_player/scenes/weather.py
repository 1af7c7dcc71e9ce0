"""Weather and snow: today's readings and where it is safe and warm to walk.

Underground is advised when it is at or below `rules.underground_at_or_below_c`, or the snow
is deep, or it is snowing (thresholds in the scene's data, so a city can tune them).
"""

from datetime import datetime
from typing import Any

from signage_player.canvas import Box, Canvas
from signage_player.i18n import pick, walk_kcal, walk_minutes, walk_steps
from signage_player.scenes.common import SceneContext, frame, inset, line_h, split
from signage_player.scenes.mapview import draw_strip
from signage_player.schedule import is_active, parse_windows


def _tip(tip: Any, now: datetime) -> Any:
    return in_season(tip, now)["text"] if isinstance(tip, list) else tip


def underground_today(weather: dict, rules: dict) -> bool:
    """Underground when it is cold, snowy or snowing, and when the temperature is unknown: no
    data must never read as "a good day to walk outside"."""
    t = weather.get("temperature_c")
    return (
        t is None
        or t <= rules["underground_at_or_below_c"]
        or weather.get("snow_depth_mm", 0) >= rules["underground_snow_depth_mm"]
        or weather.get("snowfall_mm_h", 0) >= rules["underground_snowfall_mm_h"]
    )


def in_season(value: Any, now: datetime) -> dict:
    """A plan (or tip) for today: `value` is one dict, or a list of dicts each with a yearly
    `dates` window ({"from": "MM-DD", "to": "MM-DD"}, may wrap the new year); the first in
    season wins, so "flower beds and fountains" is never offered in December."""
    if isinstance(value, dict):
        return value
    for entry in value:
        if "dates" not in entry or is_active(parse_windows([{"dates": entry["dates"]}]), now):
            return entry
    raise ValueError(f"no entry in season on {now:%m-%d}: expected dates covering the year")


def paint(canvas: Canvas, ctx: SceneContext, body: Box | None = None) -> None:
    from signage_player.assets import surface

    data = ctx.data
    body = frame(canvas, ctx, pick(data["title"], ctx.lang))
    m, pal = canvas.metrics, canvas.palette
    gap = m.margin
    weather = ctx.live.weather
    readings, advice = split(body, 0.3 if m.portrait else 0.36, m.portrait, gap)
    values = [
        ("temperature", weather.get("temperature_c"), "{:+.1f} °C"),
        ("snow_depth", weather.get("snow_depth_mm"), "{:.0f} cm"),
        ("snowfall", weather.get("snowfall_mm_h"), "{:.1f} mm"),
    ]
    x, y, w, h = readings
    th = (h - gap * 2) // 3
    for i, (key, value, fmt) in enumerate(values):
        if value is not None and key == "snow_depth":
            value = value / 10  # mm -> cm: how snow depth is reported in Japan
        tile = (x, y + i * (th + gap), w, th)
        canvas.fill(tile, pal.panel, radius=gap // 2)
        tx, ty, tw, thh = inset(tile, gap // 2)
        shown = fmt.format(value) if value is not None else ctx.t("no_data")
        lang = "en" if value is not None else None
        if m.portrait:  # label left, value right: a row per reading
            lw = int(tw * 0.42)
            canvas.text(
                f"weather.{key}.label",
                (tx, ty, lw, thh),
                ctx.t(key),
                "heading",
                pal.muted,
                valign="middle",
                max_lines=2,
            )
            canvas.text(
                f"weather.{key}",
                (tx + lw, ty, tw - lw, thh),
                shown,
                "display",
                pal.text,
                align="right",
                valign="middle",
                max_lines=1,
                lang=lang,
            )
        else:  # label above value
            lh = line_h(canvas, "label")
            canvas.text(
                f"weather.{key}.label",
                (tx, ty, tw, lh),
                ctx.t(key),
                "label",
                pal.muted,
                max_lines=1,
            )
            canvas.text(
                f"weather.{key}",
                (tx, ty + lh, tw, thh - lh),
                shown,
                "display",
                pal.text,
                valign="middle",
                max_lines=1,
                lang=lang,
            )
    below = underground_today(weather, data["rules"])
    plan = data["underground"] if below else in_season(data["surface"], ctx.now)
    x, y, w, h = advice
    canvas.fill(advice, pal.panel, radius=gap // 2)
    x, y, w, h = inset(advice, gap)
    head_h = line_h(canvas, "title")
    icon = head_h if below else 0
    canvas.image(surface(ctx.package, "assets/snow.png") if below else None, (x, y, icon, icon))
    f = canvas.text(
        "weather.advice",
        (x + icon + gap // 2, y, w - icon - gap // 2, line_h(canvas, "title", 2)),
        ctx.t("walk_underground" if below else "walk_outside"),
        "title",
        pal.highlight,
        max_lines=2,
    )
    y += max(head_h, f.height + gap // 2) + gap // 3
    d = plan["distance_m"]
    facts = (
        f"{walk_minutes(d)} {ctx.t('minutes')} · {walk_steps(d):,} {ctx.t('steps')} · "
        f"{walk_kcal(d)} {ctx.t('kcal')}"
    )
    f = canvas.text(
        "weather.note",
        (x, y, w, line_h(canvas, "body", 3)),
        pick(plan["note"], ctx.lang),
        "body",
        pal.text,
        max_lines=3,
    )
    y += f.height + gap // 3
    canvas.text(
        "weather.facts",
        (x, y, w, line_h(canvas, "heading")),
        facts,
        "heading",
        pal.accent,
        max_lines=1,
    )
    y += line_h(canvas, "heading") + gap // 2
    tip_h = line_h(canvas, "body", 2)
    map_box = (x, y, w, advice[1] + advice[3] - gap - tip_h - gap // 2 - y)
    if map_box[3] > line_h(canvas, "label", 2) * 2 + m.unit:
        draw_strip(canvas, ctx, map_box, plan["path"])
    canvas.text(
        "weather.tip",
        (x, advice[1] + advice[3] - gap - tip_h, w, tip_h),
        pick(_tip(data["tip"], ctx.now), ctx.lang),
        "body",
        pal.muted,
        max_lines=2,
    )
