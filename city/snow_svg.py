"""The snow plan as an SVG map: segments coloured by priority, crews' first jobs numbered.

Grey: below the snow threshold (not in the plan). Dashed: walkers unknown (no counted place
reaches the segment). Thin: a fallback width. Drawn from the plan's own coordinates, no tiles.
"""

import math
from html import escape
from typing import Any

from city.roads import RoadNetwork

RAMP = ((0, "#2c7bb6"), (50, "#abd9e9"), (60, "#fdae61"), (70, "#d7191c"))
CREW_COLOURS = ("#6a3d9a", "#1b9e77", "#e6ab02", "#e7298a", "#66a61e", "#a6761d")


def score_colour(score: float, planned: bool) -> str:
    if not planned:
        return "#c9ced4"
    colour = RAMP[0][1]
    for edge, c in RAMP:
        if score >= edge:
            colour = c
    return colour


def plan_svg(net: RoadNetwork, plan: dict[str, Any], width: int = 900,
             label_first: int = 12) -> str:
    lons = [x for x, _ in net.nodes.values()]
    lats = [y for _, y in net.nodes.values()]
    x0, x1, y0, y1 = min(lons), max(lons), min(lats), max(lats)
    kx = math.cos(math.radians((y0 + y1) / 2))  # metres per degree lon vs lat
    scale = (width - 40) / max((x1 - x0) * kx, 1e-9)
    height = int((y1 - y0) * scale) + 90

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return 20 + (lon - x0) * kx * scale, 20 + (y1 - lat) * scale

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' id='snow-map' role='img' width='{width}'"
             f" height='{height}' viewBox='0 0 {width} {height}'"
             " aria-label='snow clearing priority map'>",
             f"<rect width='{width}' height='{height}' fill='#ffffff'/>"]
    rows = sorted(plan["segments"], key=lambda r: (r["planned"], r["score"], r["segment"]))
    for r in rows:
        (ax, ay), (bx, by) = (xy(*c) for c in net.segments[r["segment"]].coords)
        w = 2.0 if r["width_fallback"] else 3.5
        dash = "" if r["walkers_known"] else " stroke-dasharray='4 3'"
        parts.append(f"<line x1='{ax:.1f}' y1='{ay:.1f}' x2='{bx:.1f}' y2='{by:.1f}'"
                     f" stroke='{score_colour(r['score'], r['planned'])}' stroke-width='{w}'"
                     f" stroke-linecap='round'{dash}><title>{escape(r['name'] or r['highway'])}"
                     f" {r['segment']}: score {r['score']}, order {r.get('order', '-')}"
                     "</title></line>")
    for crew in plan["crews"]:
        colour = CREW_COLOURS[(crew["crew"] - 1) % len(CREW_COLOURS)]
        for job in crew["route"][:label_first]:
            cx, cy = xy(*net.segments[job["segment"]].midpoint)
            parts.append(f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='7' fill='{colour}'/>"
                         f"<text x='{cx:.1f}' y='{cy + 3:.1f}' font-size='8' fill='#fff'"
                         f" text-anchor='middle'>{job['order']}</text>")
    y = height - 50
    for i, (edge, c) in enumerate(RAMP):
        parts.append(f"<rect x='{20 + i * 110}' y='{y}' width='18' height='8' fill='{c}'/>"
                     f"<text x='{42 + i * 110}' y='{y + 8}' font-size='11'>score &gt;= {edge}"
                     "</text>")
    parts.append(f"<rect x='{20 + 4 * 110}' y='{y}' width='18' height='8' fill='#c9ced4'/>"
                 f"<text x='{42 + 4 * 110}' y='{y + 8}' font-size='11'>not needed</text>")
    crews = ", ".join(f"crew {c['crew']}" for c in plan["crews"])
    parts.append(f"<text x='20' y='{y + 28}' font-size='11'>circles: first {label_first} jobs"
                 f" of {escape(crews)} (colour per crew); dashed: walkers unknown; thin: fallback"
                 " width. Roads © OpenStreetMap contributors (ODbL).</text></svg>")
    return "".join(parts)
