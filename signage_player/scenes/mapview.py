"""A schematic walking map: walkways as lines, places as dots, the route drawn over them.

Places carry schematic coordinates (`xy`, 0-100, north up) and a label side chosen by the
content author (`label`: above/below/left/right), as on transit diagrams: readable beats
geographic.
"""

from signage_player.canvas import Box, Canvas
from signage_player.scenes.common import SceneContext, line_h


def _project(
    ctx: SceneContext, ids: set[str], box: Box, pad_x: int, pad_y: int
) -> dict[str, tuple[int, int]]:
    places = ctx.package.places
    pts = {p: places[p]["xy"] for p in ids if "xy" in places[p]}
    xs = [v[0] for v in pts.values()]
    ys = [v[1] for v in pts.values()]
    x, y, w, h = box
    sx = max(1, w - 2 * pad_x) / max(1, max(xs) - min(xs))
    sy = max(1, h - 2 * pad_y) / max(1, max(ys) - min(ys))
    s = min(sx, sy)
    ox = x + (w - s * (max(xs) - min(xs))) / 2
    oy = y + (h - s * (max(ys) - min(ys))) / 2
    return {
        p: (int(ox + (v[0] - min(xs)) * s), int(oy + (v[1] - min(ys)) * s)) for p, v in pts.items()
    }


def draw_map(
    canvas: Canvas,
    ctx: SceneContext,
    box: Box,
    edges: list,
    path: list[str],
    edge_colour: tuple[int, int, int] | None = None,
) -> None:
    """Edges (pairs of place ids) in the line colour, then `path` highlighted over them."""
    m, pal = canvas.metrics, canvas.palette
    canvas.fill(box, pal.panel, radius=m.margin // 2)
    ids = {p for e in edges for p in e} | set(path)
    label_w = int(box[2] * 0.34)
    lh = line_h(canvas, "label", 2)
    pos = _project(ctx, ids, box, label_w // 2 + m.margin, lh + m.margin)
    width = max(4, m.unit // 4)
    for a, b in edges:
        if a in pos and b in pos:
            canvas.line(pos[a], pos[b], edge_colour or pal.line, width * (2 if edge_colour else 1))
    for a, b in zip(path, path[1:], strict=False):
        canvas.line(pos[a], pos[b], pal.highlight, width * 3)
        canvas.circle(pos[b], width * 3 // 2, pal.highlight)
    r = max(6, m.unit // 3)
    for p, (px, py) in sorted(pos.items()):
        here = p == ctx.location
        dest = bool(path) and p == path[-1]
        colour = pal.busy if here else pal.highlight if dest else pal.text
        canvas.circle((px, py), r * (2 if here or dest else 1), colour)
        if here:
            canvas.circle((px, py), r * 2, pal.text, max(2, r // 3))
    for p, (px, py) in sorted(pos.items()):  # labels last: their plates cover lines, not dots
        dest = bool(path) and p == path[-1]
        side = ctx.package.places[p].get("label", "right")
        gap = r * 2 + m.margin // 3
        if side == "left":
            lbox = (px - gap - label_w, py - lh // 2, label_w, lh)
            align = "right"
        elif side == "right":
            lbox = (px + gap, py - lh // 2, label_w, lh)
            align = "left"
        else:
            top = py - gap - lh if side == "above" else py + gap
            lbox = (px - label_w // 2, top, label_w, lh)
            align = "center"
        colour = pal.highlight if dest else pal.text
        valign = "bottom" if side == "above" else "top" if side == "below" else "middle"
        canvas.text(
            f"map.{p}",
            lbox,
            ctx.place(p),
            "label",
            colour,
            align=align,
            valign=valign,
            max_lines=2,
            backdrop=pal.panel,
        )


def draw_strip(canvas: Canvas, ctx: SceneContext, box: Box, path: list[str]) -> None:
    """A route as a line of stops (like a train-line diagram): fits any box shape. Labels
    alternate below and above the line so each may be two stops wide."""
    m, pal = canvas.metrics, canvas.palette
    x, y, w, h = box
    n = len(path)
    step = w // max(1, n)
    r = max(6, m.unit // 3)
    label_h = (h - r * 4) // 2
    cy = y + label_h + r * 2
    width = max(6, m.unit // 3)
    canvas.line((x + step // 2, cy), (x + step * (n - 1) + step // 2, cy), pal.highlight, width)
    for i, p in enumerate(path):
        cx = x + step * i + step // 2
        here = p == ctx.location
        canvas.circle((cx, cy), r * 2 if here else int(r * 1.5), pal.busy if here else pal.text)
        left, right = max(x, cx - step + 4), min(x + w, cx + step - 4)
        align = "left" if i == 0 else "right" if i == n - 1 else "center"
        if align == "center":
            half = min(cx - left, right - cx)
            left, right = cx - half, cx + half
        below = i % 2 == 0
        top = cy + r * 2 + 2 if below else y
        canvas.text(
            f"strip.{p}",
            (left, top, right - left, label_h - 2),
            ctx.place(p),
            "label",
            pal.text,
            align=align,
            valign="top" if below else "bottom",
            max_lines=2,
        )
