"""The emergency notice: black and yellow (the highest-contrast pair), the largest text, the
chosen language first and every other language below it, because in an emergency nobody
should wait for their language to come round."""

from signage_player.canvas import Box, Canvas
from signage_player.scenes.common import SceneContext, inset, line_h
from signage_player.style import CUD, HIGH_CONTRAST


def paint(canvas: Canvas, ctx: SceneContext, body: Box | None = None) -> None:
    canvas.palette = HIGH_CONTRAST
    pal = HIGH_CONTRAST
    m = canvas.metrics
    w, h = canvas.size
    gap = m.margin
    notice = ctx.emergency
    sample = ctx.data["sample"]
    # The sample (an earthquake warning) is only for renders without a notice: a real notice
    # without a title gets the package's generic heading, never a specific hazard's name.
    texts = sample["text"] if notice is None else notice.text
    titles = sample["title"] if notice is None else notice.title
    canvas.fill((0, 0, w, h), pal.bg, outline=False)
    band = max(gap, m.unit // 2)
    for y in (0, h - band):  # warning stripes, top and bottom, in CUD red
        canvas.fill((0, y, w, band), CUD.busy, outline=False)
    box = inset((0, band, w, h - 2 * band), gap * 2)
    # Measure first, then draw centred: a short notice sits in the middle of the screen.
    probe = Canvas(canvas.fonts, m, pal, canvas.lang)
    used = _content(probe, ctx, box, titles, texts, box[1])
    _content(canvas, ctx, box, titles, texts, box[1] + max(0, (box[3] - used) // 2))


def _content(
    canvas: Canvas, ctx: SceneContext, box: Box, titles: dict, texts: dict, top: int
) -> int:
    """Title, the notice in this language, then the others; returns the height used."""
    m, pal = canvas.metrics, canvas.palette
    gap = m.margin
    x, _, cw, ch = box
    y = top
    langs = [ctx.lang] + [lang for lang in ctx.languages if lang != ctx.lang]
    title = (titles.get(ctx.lang) or "").strip() or ctx.t("emergency_title")
    title_lines = 2 if m.portrait else 1
    title_h = int(line_h(canvas, "display", title_lines) * 1.3)
    f = canvas.text(
        "emergency.title",
        (x, y, cw, title_h),
        title,
        "display",
        pal.highlight,
        align="center",
        max_lines=title_lines,
        pref_scale=1.3,
    )
    y += f.height + gap
    first = texts.get(ctx.lang) if texts else None
    rest = [lang for lang in langs[1:] if texts.get(lang)]
    other_lines = 3 if m.portrait else 2
    other_h = len(rest) * (line_h(canvas, "body", other_lines) + gap // 2)
    if first:
        main_h = ch - title_h - other_h - 3 * gap
        f = canvas.text(
            "emergency.text",
            (x, y, cw, main_h),
            first,
            "title",
            pal.text,
            align="center",
            pref_scale=1.3,
        )
        y += f.height + gap * 2
    for lang in rest:
        hh = line_h(canvas, "body", other_lines)
        canvas.fill((x, y - gap // 4, cw, 2), pal.muted, outline=False)
        f = canvas.text(
            f"emergency.{lang}",
            (x, y, cw, hh),
            texts[lang],
            "body",
            pal.text,
            align="center",
            max_lines=other_lines,
            lang=lang,
        )
        y += (f.height if lang == rest[-1] else hh) + gap // 2
    return y - top
