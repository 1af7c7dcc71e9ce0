"""Inline SVG: bar charts with optional bounds, and a map drawn from GeoJSON (no tile server).

Missing values (None) are drawn as a hatched gap labelled "no data", never as a zero bar.
"""

from collections.abc import Sequence
from html import escape
from typing import Any


def bar_chart(points: Sequence[tuple[str, float | None]], *, title: str, chart_id: str,
              bounds: Sequence[tuple[float, float] | None] | None = None, width: int = 900,
              height: int = 240, label_every: int = 1) -> str:
    """Bars for each (label, value); `bounds` draws a low-high whisker on each bar."""
    pad_l, pad_b, pad_t = 52, 34, 22
    values = [v for _, v in points if v is not None]
    highs = [b[1] for b in (bounds or []) if b is not None]
    top = max(values + highs + [1])
    n = max(len(points), 1)
    step = (width - pad_l - 8) / n
    inner_h = height - pad_b - pad_t
    parts = [f"<svg id='{chart_id}' class=chart role=img viewBox='0 0 {width} {height}'"
             f" width='{width}' height='{height}' aria-label='{escape(title)}'"
             " xmlns='http://www.w3.org/2000/svg'>",
             "<defs><pattern id='nodata' width='6' height='6' patternUnits='userSpaceOnUse'"
             " patternTransform='rotate(45)'><line x1='0' y1='0' x2='0' y2='6'"
             " stroke='#c9ced4' stroke-width='2'/></pattern></defs>",
             f"<text x='{pad_l}' y='14' font-size='13' fill='#1b2a3a'>{escape(title)}</text>"]
    for frac in (0, 0.5, 1):
        y = pad_t + inner_h * (1 - frac)
        parts.append(f"<line x1='{pad_l}' x2='{width - 4}' y1='{y:.1f}' y2='{y:.1f}'"
                     " stroke='#e3e8ee'/>"
                     f"<text x='{pad_l - 6}' y='{y + 4:.1f}' font-size='11' text-anchor='end'"
                     f" fill='#5b6b7b'>{top * frac:,.0f}</text>")
    for i, (label, value) in enumerate(points):
        x = pad_l + i * step
        w = max(step * 0.8, 1)
        if value is None:
            parts.append(f"<rect class=gap x='{x:.1f}' y='{pad_t}' width='{w:.1f}'"
                         f" height='{inner_h}' fill='url(#nodata)'><title>{escape(label)}:"
                         " no data</title></rect>")
        else:
            h = inner_h * value / top
            parts.append(f"<rect class=bar x='{x:.1f}' y='{pad_t + inner_h - h:.1f}'"
                         f" width='{w:.1f}' height='{h:.1f}' fill='#0b6e99'"
                         f" data-value='{value:g}'><title>{escape(label)}: {value:,.0f}"
                         "</title></rect>")
        if bounds and i < len(bounds) and bounds[i] is not None:
            lo, hi = bounds[i]
            if hi > lo:
                cx = x + w / 2
                y_lo, y_hi = pad_t + inner_h * (1 - lo / top), pad_t + inner_h * (1 - hi / top)
                parts.append(f"<line class=bound x1='{cx:.1f}' x2='{cx:.1f}' y1='{y_lo:.1f}'"
                             f" y2='{y_hi:.1f}' stroke='#e08a00' stroke-width='2'/>")
        if label and i % label_every == 0:
            parts.append(f"<text x='{x + w / 2:.1f}' y='{height - pad_b + 14}' font-size='10'"
                         f" text-anchor='middle' fill='#5b6b7b'>{escape(label)}</text>")
    if not values:
        parts.append(f"<text x='{width / 2}' y='{pad_t + inner_h / 2}' font-size='16'"
                     " text-anchor='middle' fill='#b5462f'>no data in this period</text>")
    parts.append("</svg>")
    return "".join(parts)


def map_svg(geojson: dict[str, Any], places: Sequence[dict[str, Any]], *, width: int = 900,
            height: int = 560, bbox: Sequence[float] | None = None) -> str:
    """Streets/walkways (LineString, Polygon) from shipped GeoJSON, places as circles sized
    by people in the hour; a place without data is a hollow grey ring. `bbox` (lon/lat
    min, max) zooms in; without it everything is fitted."""
    coords: list[tuple[float, float]] = []
    if bbox is not None:
        coords = [(bbox[0], bbox[1]), (bbox[2], bbox[3])]
        places = [p for p in places
                  if bbox[0] <= p["lon"] <= bbox[2] and bbox[1] <= p["lat"] <= bbox[3]]
    else:
        for f in geojson.get("features", []):
            coords += list(_points(f["geometry"]))
        coords += [(p["lon"], p["lat"]) for p in places]
    if not coords:
        return "<p class=muted>No places to draw.</p>"
    lons, lats = [c[0] for c in coords], [c[1] for c in coords]
    lo_x, hi_x, lo_y, hi_y = min(lons), max(lons), min(lats), max(lats)
    span_x, span_y = max(hi_x - lo_x, 1e-4), max(hi_y - lo_y, 1e-4)
    # Equirectangular at Sapporo's latitude: a degree of longitude is ~0.73 of one of latitude.
    scale = min((width - 40) / (span_x * 0.73), (height - 40) / span_y)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return 20 + (lon - lo_x) * 0.73 * scale, height - 20 - (lat - lo_y) * scale

    parts = [f"<svg id=map role=img viewBox='0 0 {width} {height}' width='{width}'"
             " overflow='hidden'"
             f" height='{height}' xmlns='http://www.w3.org/2000/svg'"
             " style='background:#eef3f6'>"]
    for f in geojson.get("features", []):
        g, props = f["geometry"], f.get("properties", {})
        style = props.get("style", "street")
        stroke = {"walkway": "#7d5ba6", "rail": "#555", "park": "#7cb26f"}.get(style, "#b8c2cc")
        widths = {"walkway": 5, "rail": 2, "park": 1}
        lines = g["coordinates"] if g["type"] in ("LineString", "Polygon") else []
        rings = [lines] if g["type"] == "LineString" else lines
        for ring in rings:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*c) for c in ring))
            fill = "#cfe6c8" if g["type"] == "Polygon" else "none"
            parts.append(f"<polyline points='{path}' fill='{fill}' stroke='{stroke}'"
                         f" stroke-width='{widths.get(style, 3)}' stroke-linecap='round'>"
                         f"<title>{escape(str(props.get('name', '')))}</title></polyline>")
        if props.get("label") and lines:
            x, y = xy(*(rings[0][len(rings[0]) // 2]))
            parts.append(f"<text x='{x + 6:.1f}' y='{y - 6:.1f}' font-size='11'"
                         f" fill='#5b6b7b'>{escape(props['label'])}</text>")
    top = max([p["people"] for p in places if p["people"] is not None] + [1])
    for p in places:
        x, y = xy(p["lon"], p["lat"])
        if p["people"] is None:
            parts.append(f"<circle class=place data-place='{escape(p['id'])}' cx='{x:.1f}'"
                         f" cy='{y:.1f}' r='9' fill='none' stroke='#8a949e' stroke-width='2'"
                         f" stroke-dasharray='3 2'><title>{escape(p['name'])}: no data"
                         "</title></circle>")
        else:
            r = 6 + 26 * (p["people"] / top) ** 0.5
            parts.append(f"<circle class=place data-place='{escape(p['id'])}'"
                         f" data-people='{p['people']}' cx='{x:.1f}' cy='{y:.1f}' r='{r:.1f}'"
                         " fill='#0b6e99' fill-opacity='0.65' stroke='#063b52'>"
                         f"<title>{escape(p['name'])}: {p['people']:,} people/h</title></circle>")
        figure = "no data" if p["people"] is None else f"{p['people']:,}/h"
        parts.append(f"<a href='/place/{escape(p['id'])}'><text x='{x + 12:.1f}' y='{y + 4:.1f}'"
                     f" font-size='12' fill='#1b2a3a'>{escape(p['name'])} ({figure})</text></a>")
    parts.append("</svg>")
    return "".join(parts)


def _points(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    t, c = geometry["type"], geometry["coordinates"]
    if t == "Point":
        return [tuple(c)]
    if t == "LineString":
        return [tuple(x) for x in c]
    if t == "Polygon":
        return [tuple(x) for ring in c for x in ring]
    return []


def change_chart(points: Sequence[tuple[str, float | None]], *, title: str, chart_id: str,
                 width: int = 900, height: int = 260) -> str:
    """Horizontal bars of a signed change (%) around a zero line; None is "no data"."""
    pad_l, pad_t, row = 330, 24, (height - 34) / max(len(points), 1)
    top = max([abs(v) for _, v in points if v is not None] + [1])
    half = (width - pad_l - 120) / 2  # room for the value labels at both ends
    mid = pad_l + 60 + half
    parts = [f"<svg id='{chart_id}' class=chart role=img viewBox='0 0 {width} {height}'"
             f" width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>",
             f"<text x='4' y='14' font-size='13' fill='#1b2a3a'>{escape(title)}</text>",
             f"<line x1='{mid}' x2='{mid}' y1='{pad_t - 4}' y2='{height - 8}' stroke='#5b6b7b'/>"]
    for i, (label, value) in enumerate(points):
        y = pad_t + i * row
        parts.append(f"<text x='{pad_l - 8}' y='{y + row * 0.65:.1f}' font-size='12'"
                     f" text-anchor='end' fill='#1b2a3a'>{escape(label)}</text>")
        if value is None:
            parts.append(f"<text x='{mid + 6}' y='{y + row * 0.65:.1f}' font-size='12'"
                         " fill='#8a949e'>no data</text>")
            continue
        w = half * abs(value) / top
        x = mid if value >= 0 else mid - w
        color = "#0b6e99" if value >= 0 else "#b5462f"
        parts.append(f"<rect class=bar x='{x:.1f}' y='{y + row * 0.15:.1f}' width='{w:.1f}'"
                     f" height='{row * 0.7:.1f}' fill='{color}' data-value='{value:g}'>"
                     f"<title>{escape(label)}: {value:+.1f} %</title></rect>"
                     f"<text x='{x + w + 4 if value >= 0 else x - 4:.1f}'"
                     f" y='{y + row * 0.65:.1f}' font-size='11' fill='#1b2a3a'"
                     f" text-anchor='{'start' if value >= 0 else 'end'}'>{value:+.1f} %</text>")
    parts.append("</svg>")
    return "".join(parts)
