"""The interactive screens, painted through a Canvas (so every text's fit is recorded).

home     five big doors: events, places and shops, walking routes, jogging, health points
list     results of one kind with filter chips (category, when, distance, step-free, the
         day's condition for jogging), nearest first, in pages
detail   one destination: the route drawn on the schematic map, minutes / steps / kcal with
         their basis, step-free and under-cover flags, the three route variants, the QR code
course   one jogging course for today's condition: intensity, heart-rate zone, the science
         line and its source, the QR code
health   how health points are earned
Every screen has the same bottom bar: home, back, the four languages, large text.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from signage_player.canvas import Box, Canvas, FitRecord
from signage_player.i18n import LANGUAGE_NAMES, number, pick
from signage_player.interactive import courses, handoff, walking
from signage_player.interactive.catalog import DISTANCES, KINDS, WHEN, Catalog, Item
from signage_player.interactive.graph import VARIANTS, Route
from signage_player.interactive.layout import Button, Layout
from signage_player.scenes.common import draw_header
from signage_player.style import CUD, HIGH_CONTRAST, LARGE_TEXT, Metrics


@dataclass(frozen=True)
class State:
    screen: str = "home"  # home | list | detail | course | health
    kind: str = ""
    item: str = ""
    variant: str = "shortest"
    page: int = 0
    category: str = ""
    when: str = "all"
    within_m: int = 0
    step_free: bool = False
    condition: str = "moderate"


@dataclass(frozen=True)
class Screen:
    name: str
    surface: Any
    buttons: tuple[Button, ...]
    fits: tuple[FitRecord, ...]
    qr: str = ""  # the URL in this screen's QR code, if it has one
    qr_box: Box | None = None

    @property
    def overflows(self) -> list[FitRecord]:
        return [r for r in self.fits if not r.fit.ok]


@dataclass(frozen=True)
class Env:
    """What a paint needs besides the state."""

    catalog: Catalog
    fonts: Any
    normal: Metrics
    large_text: Metrics  # the same panel in large-text mode (larger type, high contrast)
    lang: str
    now: datetime
    crowding: dict
    route_url: str
    reach_from: float
    large: bool = False
    draw: bool = True
    route_token: Any = None  # Route -> the sign's signed route token or None (check-in key)

    @property
    def metrics(self) -> Metrics:
        return self.large_text if self.large else self.normal


def paint(env: Env, state: State, ink: list | None = None) -> Screen:
    """Paint one screen; `ink` (tests) collects where each text's pixels landed."""
    surface = None
    if env.draw:
        import pygame

        surface = pygame.Surface((env.metrics.width, env.metrics.height))
    palette = HIGH_CONTRAST if env.metrics.accessible else CUD
    canvas = Canvas(env.fonts, env.metrics, palette, env.lang, surface, ink=ink)
    lay = Layout(env.metrics, env.reach_from)
    canvas.fill((0, 0, *canvas.size), palette.bg, outline=False)
    painter = {
        "home": _home,
        "list": _list,
        "detail": _detail,
        "course": _course,
        "health": _health,
    }[state.screen]
    buttons, qr, qr_box = painter(canvas, lay, env, state)
    buttons = buttons + _nav(canvas, lay, env, state)
    return Screen(state.screen, surface, tuple(buttons), tuple(canvas.fits), qr, qr_box)


# -- pieces ------------------------------------------------------------------------------
def _t(env: Env, key: str, **values: Any) -> str:
    return env.catalog.text(key, env.lang, **values)


def _header(canvas: Canvas, lay: Layout, env: Env, title: str) -> None:
    """The scenes' own header bar (scenes.common.draw_header): one look on every screen."""
    where = env.catalog.text("you_are_here", env.lang, place=_place(env, env.catalog.here))
    draw_header(canvas, title, where)


def _button(
    canvas: Canvas,
    b: Button,
    label: str,
    *,
    role: str = "body",
    lang: str | None = None,
    sub: str = "",
    title_lines: int = 1,
) -> None:
    pal = canvas.palette
    x, y, w, h = b.box
    fill = pal.accent if b.selected else pal.panel
    canvas.fill(b.box, fill, radius=max(6, h // 8))  # high contrast: outlined
    if not b.selected:  # an outline says "this can be touched" without relying on colour
        edge = max(2, canvas.metrics.unit // 10)
        canvas.fill((x, y + h - edge, w, edge), pal.accent, outline=False)
    colour = pal.bg if b.selected else pal.text
    pad = canvas.metrics.margin // 2
    if sub:
        size = canvas.metrics.role(role)[0]
        top_h = min(int(h * 0.6), int(size * (1.25 * title_lines + 0.1)) + pad // 2)
        canvas.text(
            f"btn.{b.id}",
            (x + pad, y + pad // 2, w - 2 * pad, top_h - pad // 2),
            label,
            role,
            colour,
            valign="bottom",
            max_lines=title_lines,
            lang=lang,
        )
        canvas.text(
            f"btn.{b.id}.sub",
            (x + pad, y + top_h + pad // 4, w - 2 * pad, h - top_h - pad // 2),
            sub,
            "label",
            pal.bg if b.selected else pal.muted,
            max_lines=2,
            lang=lang,
        )
    else:
        canvas.text(
            f"btn.{b.id}",
            (x + pad, y, w - 2 * pad, h),
            label,
            role,
            colour,
            align="center",
            valign="middle",
            max_lines=2,
            lang=lang,
        )


def _nav(canvas: Canvas, lay: Layout, env: Env, state: State) -> list[Button]:
    pal = canvas.palette
    x, y, w, h = lay.nav
    canvas.fill((x, y, w, h), pal.panel, outline=False)
    pad = canvas.metrics.margin
    langs = [f"lang:{x}" for x in env.catalog.package.languages]
    if lay.nav_rows == 2:
        buttons = lay.row((pad, y + lay.gap, w - 2 * pad, lay.target), ["home", "back", "large"])
        buttons += lay.row((pad, y + 2 * lay.gap + lay.target, w - 2 * pad, lay.target), langs)
    else:
        buttons = lay.row(
            (pad, y + lay.gap, w - 2 * pad, lay.target), ["home", "back", *langs, "large"]
        )
    out = []
    for b in buttons:
        if b.id.startswith("lang:"):
            code = b.id[5:]
            b = replace(b, selected=code == env.lang)
            _button(canvas, b, LANGUAGE_NAMES[code], role="label", lang=code)
        elif b.id == "large":
            b = replace(b, selected=env.large)
            _button(canvas, b, _t(env, "ui_large"), role="label")
        else:
            _button(canvas, b, _t(env, f"ui_{b.id}"), role="label")
        out.append(b)
    return out


def _place(env: Env, place: str) -> str:
    return pick(env.catalog.package.places[place]["name"], env.lang)


def _route_line(env: Env, route: Route | None) -> str:
    if route is None:
        return ""
    f = walking.figures(route)
    return _t(env, "ui_figures", minutes=f.minutes, steps=number(f.steps), kcal=f.kcal)


# -- screens -----------------------------------------------------------------------------
def _home(canvas: Canvas, lay: Layout, env: Env, state: State) -> tuple[list, str, None]:
    pal = canvas.palette
    _header(canvas, lay, env, _t(env, "ui_home_title"))
    x, y, w, h = lay.info
    canvas.text(
        "home.lead",
        (x, y, w, h),
        _t(env, "ui_home_lead"),
        "body" if env.large else "heading",
        pal.text,
        valign="middle",
    )
    kinds = [k for k in KINDS if k == "health" and env.catalog.health or env.catalog.of(k)]
    if env.catalog.graph is None or env.catalog.here not in env.catalog.graph.nodes():
        kinds = [k for k in kinds if k != "routes"]  # a sign off the walking map: no routes
    cols = 3 - canvas.metrics.portrait - env.large  # 3, or 2, or 1 for large text upright
    box = lay.controls
    rows = -(-len(kinds) // cols)
    row_h = max(lay.target, (box[3] - lay.gap * (rows - 1)) // rows)
    buttons = lay.grid(box, [f"open:{k}" for k in kinds], cols, row_h)
    for b in buttons:
        kind = b.id[5:]
        sub = "" if env.large else _t(env, f"ui_about_{kind}")  # large text: fewer words
        _button(canvas, b, _t(env, f"ui_kind_{kind}"), role="heading", sub=sub)
    return buttons, "", None


def _chips(env: Env, state: State) -> list[tuple[str, str]]:
    """(button id, label) of the filters that apply to this list."""
    cat = env.catalog
    out: list[tuple[str, str]] = []
    if state.kind == "events":
        out += [(f"when:{w}", _t(env, f"ui_when_{w}")) for w in WHEN]
    if state.kind in ("events", "places"):
        # Categories of what can still be found: a calendar event that is over offers none.
        used = {i.category for i in cat.of(state.kind) if i.category and i.at(env.now)}
        out += [("category:", _t(env, "ui_all"))]
        out += [
            (f"category:{c}", pick(cat.categories[c], env.lang))
            for c in cat.categories
            if c in used
        ]
    if state.kind in ("places", "routes"):
        out += [
            (f"within:{d}", _t(env, "ui_within", m=d) if d else _t(env, "ui_any_distance"))
            for d in DISTANCES
        ]
    if state.kind in ("events", "places", "routes"):
        out += [("stepfree", _t(env, "ui_step_free_only"))]
    if state.kind == "jogging":
        out += [(f"condition:{c}", _t(env, f"ui_condition_{c}")) for c in courses.CONDITIONS]
    return out


def _selected(state: State, bid: str) -> bool:
    key, _, value = bid.partition(":")
    return {
        "when": state.when == value,
        "category": state.category == value,
        "within": str(state.within_m) == value,
        "stepfree": state.step_free,
        "condition": state.condition == value,
    }.get(key, False)


def results(env: Env, state: State) -> list[Item]:
    cat = env.catalog
    if state.kind == "jogging":
        courses_ = [i.course for i in cat.of("jogging")]
        ranked = courses.rank(courses_, state.condition, courses.is_winter(env.now.month))
        order = [c["id"] for c in ranked]
        return sorted(
            (i for i in cat.of("jogging") if i.id in order), key=lambda i: order.index(i.id)
        )
    return cat.search(
        state.kind,
        env.now,
        category=state.category,
        when=state.when,
        within_m=state.within_m,
        step_free=state.step_free,
    )


def _list(canvas: Canvas, lay: Layout, env: Env, state: State) -> tuple[list, str, None]:
    pal, m = canvas.palette, canvas.metrics
    _header(canvas, lay, env, _t(env, f"ui_kind_{state.kind}"))
    found = results(env, state)
    x, y, w, h = lay.info
    canvas.text(
        "list.count",
        (x, y, w, h),
        _t(env, "ui_results", n=len(found)) if found else _t(env, "ui_no_results"),
        "heading",
        pal.text,
        valign="middle",
        max_lines=2,
    )
    chips = _chips(env, state)
    box = lay.controls
    sizes = [(bid, canvas.measure(label, "label")[0]) for bid, label in chips]
    buttons = [replace(b, selected=_selected(state, b.id)) for b in lay.flow(box, sizes)]
    for b, (_, label) in zip(buttons, chips, strict=True):
        _button(canvas, b, label, role="label")
    top = (buttons[-1].box[1] + lay.target + lay.gap) if buttons else box[1]
    cols = 1 if m.portrait else 2
    title_lines = 2 if env.large else 1
    sub_lines = 2 if env.large else 1
    row_h = max(
        lay.target,
        int(m.role("body")[0] * 1.3 * title_lines + m.role("label")[0] * 1.3 * sub_lines)
        + m.margin,
    )
    page_h = lay.target + lay.gap
    area = (box[0], top, box[2], box[1] + box[3] - top - page_h)
    per = lay.per_page(area, cols, row_h)
    pages = max(1, -(-len(found) // per))
    page = min(state.page, pages - 1)
    shown = found[page * per : (page + 1) * per]
    open_as = "course" if state.kind == "jogging" else "item"
    items = lay.grid(area, [f"{open_as}:{i.id}" for i in shown], cols, row_h)
    for b, item in zip(items, shown, strict=True):
        sub = _item_sub(env, state, item)
        _button(
            canvas, b, pick(item.title, env.lang), role="body", sub=sub, title_lines=title_lines
        )
    buttons += items
    if pages > 1:
        prev_next = lay.row(
            (box[0], box[1] + box[3] - lay.target, box[2] // 2, lay.target),
            ["page:prev", "page:next"],
        )
        for b in prev_next:
            _button(
                canvas,
                b,
                _t(env, f"ui_{b.id.replace(':', '_')}", page=page + 1, pages=pages),
                role="label",
            )
        buttons += prev_next
        canvas.text(
            "list.page",
            (
                box[0] + box[2] // 2 + lay.gap,
                box[1] + box[3] - lay.target,
                box[2] // 2 - lay.gap,
                lay.target,
            ),
            _t(env, "ui_page", page=page + 1, pages=pages),
            "label",
            pal.muted,
            valign="middle",
            max_lines=1,
        )
    return buttons, "", None


def _item_sub(env: Env, state: State, item: Item) -> str:
    if item.kind == "jogging":
        c = item.course or {}
        return _t(env, "ui_course_sub", km=c.get("km"), climb=c.get("climb_m", 0))
    route = env.catalog.route(item.place, "step_free" if state.step_free else "shortest")
    parts = []
    if item.kind == "events" and item.when:
        parts.append(pick(item.when, env.lang))
    if route is not None:
        parts.append(_t(env, "ui_walk_min", n=walking.figures(route).minutes))
    elif item.place == env.catalog.here:
        parts.append(_t(env, "ui_here"))
    return _t(env, "ui_sep").join(parts)


def _detail(canvas: Canvas, lay: Layout, env: Env, state: State) -> tuple[list, str, Box | None]:
    pal, m = canvas.palette, canvas.metrics
    kind = state.kind or "routes"
    item = env.catalog.find(kind, state.item, env.now)
    if item is None:  # the content changed under the passer-by: say so, never guess
        _header(canvas, lay, env, _t(env, "ui_gone"))
        return [], "", None
    _header(canvas, lay, env, _t(env, f"ui_kind_{kind}"))
    route = env.catalog.route(item.place, state.variant, env.crowding)
    pad = m.margin
    qr_side = _qr_side(canvas)
    bottom = lay.nav[1] - lay.gap  # the variant row sits right above the navigation bar
    map_box: Box | None
    if env.large:  # large text takes the map's room: the route is told in words instead
        map_box, col = None, (pad, lay.info[1], m.width - 2 * pad)
    elif m.portrait:
        map_box = lay.info
        col = (pad, lay.reach_y, m.width - 2 * pad)
    else:
        left = int(m.width * 0.5)
        map_box = (pad, lay.info[1], left - pad, lay.nav[1] - lay.info[1] - lay.gap)
        col = (left + pad, lay.info[1], m.width - left - 2 * pad)
    ctl = (col[0], bottom - lay.target, col[2], lay.target)
    qr_area = (col[0], ctl[1] - lay.gap - qr_side, col[2], qr_side)
    facts_box = (col[0], col[1], col[2], qr_area[1] - lay.gap - col[1])
    if map_box is not None:
        _map(canvas, env, map_box, route, item.place)
    head = canvas.text(
        "detail.title", facts_box, pick(item.title, env.lang), "heading", pal.highlight, max_lines=2
    )
    cut = head.height + m.margin // 2
    facts_box = (facts_box[0], facts_box[1] + cut, facts_box[2], facts_box[3] - cut)
    lines = []
    if item.kind == "events" and item.when:
        lines.append(pick(item.when, env.lang))
    if item.about:
        lines.append(pick(item.about, env.lang))
    if route is not None:
        lines.append(_route_line(env, route))
        lines.append(_t(env, "ui_step_free_yes") if route.step_free else _t(env, "ui_step_free_no"))
        lines.append(_t(env, "ui_covered_yes") if route.covered else _t(env, "ui_covered_no"))
    elif item.place == env.catalog.here:
        lines.append(_t(env, "ui_here"))
    else:
        lines.append(
            _t(env, "ui_no_route_" + ("step_free" if state.variant == "step_free" else "any"))
        )
    if state.variant == "quieter" and not env.crowding:
        lines.append(_t(env, "ui_quieter_no_data"))  # no data is not "quiet"
    if route is not None and env.large:  # no map: the way in words, and the basis here
        via = [_place(env, n) for n in route.nodes[1:-1]]
        if via:
            lines.append(
                env.catalog.text(
                    "via", env.lang, places=env.catalog.text("list_sep", env.lang).join(via)
                )
            )
        if m.portrait:
            lines.append(_t(env, "ui_basis"))
    role = "label" if env.large else "body"
    if env.large and not m.portrait:  # wide and short: the facts in two columns
        half = (len(lines) + 1) // 2
        a, b = _split(facts_box, lay.gap)
        canvas.text("detail.facts", a, "\n".join(lines[:half]), role, pal.text)
        canvas.text("detail.facts2", b, "\n".join(lines[half:]), role, pal.text)
    else:
        canvas.text("detail.facts", facts_box, "\n".join(lines), role, pal.text)

    ids = [f"variant:{v}" for v in VARIANTS]
    buttons = [replace(b, selected=b.id == f"variant:{state.variant}") for b in lay.row(ctl, ids)]
    for b in buttons:
        _button(canvas, b, _t(env, f"ui_variant_{b.id[8:]}"), role="label")
    qr, qr_box = "", None
    here = env.catalog.here
    if route is None and item.place != here and state.variant != "step_free":
        route = Route(state.variant, (here, item.place), ())  # off the map: directions only
    if route is not None:
        qr = handoff.route_url(env.route_url, env.catalog.package.places, route, env.lang,
                               env.route_token(route) if env.route_token else None)
        basis_here = env.large and m.portrait  # else beside the code, where there is room
        qr_box = _qr(canvas, env, qr_area, qr, "" if basis_here else _t(env, "ui_basis"))
    return buttons, qr, qr_box


def _course(canvas: Canvas, lay: Layout, env: Env, state: State) -> tuple[list, str, Box | None]:
    """Facts at the top; the condition buttons above the bar; between them the QR code and
    the science line (beside each other when there is room, else the science in the facts)."""
    pal, m = canvas.palette, canvas.metrics
    item = env.catalog.find("jogging", state.item)
    if item is None:
        _header(canvas, lay, env, _t(env, "ui_gone"))
        return [], "", None
    c = item.course or {}
    _header(canvas, lay, env, _t(env, "ui_kind_jogging"))
    level = courses.INTENSITIES[state.condition]
    minutes = courses.minutes_for(c, state.condition)
    science = _t(env, level.science) + " (" + level.source + ")"
    lines = [
        _t(env, "ui_course_sub", km=c.get("km"), climb=c.get("climb_m", 0)),
        _t(env, "ui_intensity", mets=level.mets, low=level.hr_low, high=level.hr_high),
        _t(env, "ui_course_time", minutes=minutes, kcal=walking.course_kcal(level.mets, minutes)),
    ]
    ground = [pick(c["surface"], env.lang)] if "surface" in c else []
    if "lit" in c:
        ground.append(_t(env, "ui_lit_yes") if c["lit"] else _t(env, "ui_lit_no"))
    lines += [_t(env, "ui_sep").join(ground)] if ground else []
    lines += [pick(c["winter"], env.lang)] if "winter" in c else []
    squeezed = env.large and not m.portrait  # large text on a wide, short panel
    ctl = (lay.controls[0], lay.nav[1] - lay.gap - lay.target, lay.controls[2], lay.target)
    side = _qr_side(canvas)
    x, y, w, _ = lay.info
    if squeezed:  # the code top right with its caption under it; facts on the left
        qbox = (x + w * 2 // 3, y, w - w * 2 // 3, ctl[1] - lay.gap - y)
        facts = (x, y, w * 2 // 3 - lay.gap, ctl[1] - lay.gap - y)
        lines.append(science)
        sbox = None
    elif m.portrait:
        qbox = (ctl[0], ctl[1] - lay.gap - side, ctl[2], side)
        facts = (x, y, w, lay.info[3])
        sbox = (ctl[0], lay.reach_y, ctl[2], qbox[1] - lay.gap - lay.reach_y)
    else:
        qbox = (ctl[0], ctl[1] - lay.gap - side, ctl[2] // 2, side)
        facts = (x, y, w, qbox[1] - lay.gap - y)
        sbox = (ctl[0] + ctl[2] // 2 + lay.gap, qbox[1], ctl[2] // 2 - lay.gap, side)
    head = canvas.text(
        "course.title", facts, pick(item.title, env.lang), "heading", pal.highlight, max_lines=2
    )
    cut = head.height + m.margin // 2
    canvas.text(
        "course.facts",
        (facts[0], facts[1] + cut, facts[2], facts[3] - cut),
        "\n".join(lines),
        "label" if env.large else "body",
        pal.text,
    )
    if sbox is not None:
        canvas.text("course.science", sbox, science, "label", pal.muted)
    ids = [f"condition:{x}" for x in courses.CONDITIONS]
    buttons = [
        replace(b, selected=b.id == f"condition:{state.condition}") for b in lay.row(ctl, ids)
    ]
    for b in buttons:
        _button(canvas, b, _t(env, f"ui_condition_{b.id[10:]}"), role="label")
    route = Route("shortest", (env.catalog.here, item.place), ())
    qr = handoff.route_url(env.route_url, env.catalog.package.places, route, env.lang)
    return buttons, qr, _qr(canvas, env, qbox, qr, side=side if squeezed else 0)


def _health(canvas: Canvas, lay: Layout, env: Env, state: State) -> tuple[list, str, None]:
    pal = canvas.palette
    data = env.catalog.health or {}
    _header(canvas, lay, env, pick(data.get("title", {"ja": "健幸ポイント"}), env.lang))
    lines = [pick(data["lead"], env.lang)] if "lead" in data else []
    for rule in data.get("rules", []):
        lines.append(
            "・"
            + pick(rule["what"], env.lang)
            + "  "
            + env.catalog.text("points", env.lang, n=rule["points"])
        )
    if "how" in data:
        lines.append(pick(data["how"], env.lang))
    x, y, w, _ = lay.info
    box = (x, y, w, lay.nav[1] - y - lay.gap)
    canvas.text("health.body", box, "\n".join(lines), "body", pal.text)
    return [], "", None


def _map(canvas: Canvas, env: Env, box: Box, route: Route | None, goal: str) -> None:
    """The schematic map: every walking-graph segment, the route over it, here and there."""
    pal, m = canvas.palette, canvas.metrics
    canvas.fill(box, pal.panel, radius=m.margin // 2)
    graph = env.catalog.graph
    places = env.catalog.package.places
    if graph is None:
        return
    pts = {n: places[n]["xy"] for n in graph.nodes() if "xy" in places[n]}
    if not pts:
        return
    xs, ys = [p[0] for p in pts.values()], [p[1] for p in pts.values()]
    x, y, w, h = box
    label = m.role("label")[0]
    px, py = m.margin + label * 4, m.margin + label
    s = min((w - 2 * px) / max(1, max(xs) - min(xs)), (h - 2 * py) / max(1, max(ys) - min(ys)))
    ox = x + (w - s * (max(xs) - min(xs))) / 2
    oy = y + (h - s * (max(ys) - min(ys))) / 2

    def at(n: str) -> tuple[int, int]:
        return int(ox + (pts[n][0] - min(xs)) * s), int(oy + (pts[n][1] - min(ys)) * s)

    width = max(4, m.unit // 4)
    for e in graph.edges:
        if e.a in pts and e.b in pts:
            canvas.line(at(e.a), at(e.b), pal.line, width)
    if route is not None:
        for e in route.edges:
            if e.a in pts and e.b in pts:
                canvas.line(at(e.a), at(e.b), pal.highlight, width * 3)
    here = env.catalog.here
    r = max(6, m.unit // 3)
    for n in pts:  # every place a dot, so the map reads as a network of places
        canvas.circle(at(n), r, pal.text)
    for n in (here, goal):
        if n in pts:
            canvas.circle(at(n), r * 2, pal.busy if n == here else pal.highlight)
    via = list(route.nodes[1:-1]) if route is not None else []
    for n, name in [(here, "ui_map_here"), (goal, "")] + [(v, "") for v in via]:
        if n in pts and (n != goal or goal != here):
            cx, cy = at(n)
            text = _t(env, name) if name else _place(env, n)
            lw = min(label * 8, w // 2)
            lx = max(x + 2, min(cx + r * 3, x + w - lw - 2))
            canvas.text(
                f"map.{n}",
                (lx, cy - label * 3 // 2, lw, label * 3),
                text,
                "label",
                pal.text,
                valign="middle",
                max_lines=2,
                backdrop=pal.panel,
            )


def _split(box: Box, gap: int) -> tuple[Box, Box]:
    x, y, w, h = box
    half = (w - gap) // 2
    return (x, y, half, h), (x + half + gap, y, w - half - gap, h)


def _qr_side(canvas: Canvas) -> int:
    """At least 50 mm with its quiet zone (readable from 0.5 m), and big enough for phones
    to lock on at a glance: about 8 text heights."""
    m = canvas.metrics
    unit = m.unit / LARGE_TEXT if m.accessible else m.unit  # the code need not grow with text
    return max(int(handoff.MIN_QR_MM * m.px_per_mm), int(unit * 6))


def _qr(canvas: Canvas, env: Env, box: Box, url: str, note: str = "", side: int = 0) -> Box:
    """The QR code and, beside it (or under it, given a `side` smaller than the box), what
    it is for."""
    pal, m = canvas.palette, canvas.metrics
    x, y, w, h = box
    below = bool(side)
    side = side or max(1, min(h, w // 2))
    qbox = (x, y, side, side)
    if canvas.surface is not None:
        img = handoff.qr_surface(url, side, (0, 0, 0), (255, 255, 255))
        canvas.surface.blit(
            img, (x + (side - img.get_width()) // 2, y + (side - img.get_height()) // 2)
        )
    if below:
        canvas.text(
            "qr.caption",
            (x, y + side + m.margin // 2, w, h - side - m.margin // 2),
            _t(env, "ui_qr_caption"),
            "label",
            pal.text,
        )
        return qbox
    cx, cw = x + side + m.margin // 2, w - side - m.margin // 2
    cap_h = side * 3 // 5 if note else side
    canvas.text(
        "qr.caption",
        (cx, y, cw, cap_h),
        _t(env, "ui_qr_caption"),
        "body",
        pal.text,
        valign="middle",
    )
    if note:  # the basis of the walking figures: where the numbers come from
        canvas.text("qr.basis", (cx, y + cap_h, cw, side - cap_h), note, "label", pal.muted)
    return qbox
