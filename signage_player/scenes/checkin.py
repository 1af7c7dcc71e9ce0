"""The health-point check-in scene (type `checkin`): what checking in gives, and a square
left white for the QR code.

The code itself is not in the cached scene image: it changes every 30 s token window, so the
player draws it over the image each frame (`Player._checkin_overlay`, a surface cached per
window) into `qr_box`, the same box this painter leaves white. A sign without a check-in key
(`[signage] checkin_key`) does not offer check-ins and never plays this scene.
"""

from signage_player.canvas import Box, Canvas
from signage_player.i18n import pick
from signage_player.scenes.common import SceneContext, footer_height, frame, header_height


def qr_box(canvas: Canvas) -> Box:
    """Where the QR goes: a square as tall as the body allows (landscape: on the right;
    portrait: in the lower part), quiet zone included."""
    m = canvas.metrics
    w, h = canvas.size
    pad = m.margin
    top = header_height(canvas) + pad
    body_h = h - top - footer_height(canvas) - pad
    if m.portrait:
        side = min(w - 2 * pad, body_h // 2)
        return ((w - side) // 2, top + body_h - side, side, side)
    side = min(body_h, (w - 2 * pad) // 2)
    return (w - pad - side, top, side, side)


def paint(canvas: Canvas, ctx: SceneContext, body: Box | None = None) -> None:
    data = ctx.data
    x, y, w, h = frame(canvas, ctx, pick(data["title"], ctx.lang))
    pal, m = canvas.palette, canvas.metrics
    gap = m.margin
    qx, qy, qw, qh = qr_box(canvas)
    canvas.fill((qx, qy, qw, qh), (255, 255, 255), radius=0, outline=False)
    text_w = w if m.portrait else qx - gap - x
    text_h = h if not m.portrait else qy - gap - y
    lead = canvas.text("checkin.lead", (x, y, text_w, text_h // 2), pick(data["lead"], ctx.lang),
                       "heading", pal.highlight, max_lines=3)
    rest = y + lead.height + gap
    how_h = text_h // 5
    lines = [pick(r, ctx.lang) for r in data.get("rules", [])]
    canvas.text("checkin.rules", (x, rest, text_w, y + text_h - how_h - gap - rest),
                "\n".join(lines), "body", pal.text)
    canvas.text("checkin.how", (x, y + text_h - how_h, text_w, how_h),
                pick(data["how"], ctx.lang), "label", pal.accent, max_lines=2)
