"""The QR hand-off: a URL that carries the destination and the route, nothing about the person.

The URL comes from a template (`[signage] route_url`) with these placeholders:
  {from} {to}             place ids of the sign and the destination
  {via}                   the route's intermediate place ids, comma-separated
  {variant}               shortest | step_free | quieter
  {lang}                  the language the passer-by chose (so the phone page opens in it)
  {from_lat} {from_lon} {to_lat} {to_lon}   coordinates from places.json, when given
The default is OpenStreetMap's walking directions between the two places, with the sign's
route in the fragment (a fragment never leaves the phone), so it works with no city app.
Nothing else goes in: no session, no sign-side identifier of the person. A sign with a
check-in key (`[signage] checkin_key`) appends `;route:` and its signed route token
(walkway/checkin.py: the issuing sign, from, to, the route's length and the 30 s window it was
issued in) to the fragment: a check-in at the destination sign then earns points for the
walked length (docs/city-checkin.md).

QR codes are drawn with segno (maintained, pure Python) at error correction M, with the
standard 4-module quiet zone, and at least 50 mm wide: phones read a code from about ten
times its width, so 50 mm is readable from 0.5 m.
"""

import functools
from collections.abc import Mapping
from string import Formatter
from typing import Any
from urllib.parse import quote

from signage_player.interactive.graph import Route
from walkway.checkin import ROUTE_FRAGMENT

DEFAULT_ROUTE_URL = (
    "https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot"
    "&route={from_lat}%2C{from_lon}%3B{to_lat}%2C{to_lon}"
    "#walkway=from:{from};via:{via};to:{to};variant:{variant};lang:{lang}"
)
FALLBACK_URL = "https://www.openstreetmap.org/#walkway=from:{from};via:{via};to:{to};variant:{variant};lang:{lang}"
PLACEHOLDERS = ("from", "to", "via", "variant", "lang", "from_lat", "from_lon", "to_lat", "to_lon")
QUIET_ZONE = 4
MIN_QR_MM = 50.0


def check_template(template: str) -> str | None:
    """None when `template` is usable, else what is wrong (for the config validator)."""
    try:
        names = [f for _, f, _, _ in Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"a URL template with {{placeholders}}: {exc}"
    bad = [n for n in names if n not in PLACEHOLDERS]
    if bad:
        return f"placeholders from {', '.join(PLACEHOLDERS)}, got {{{bad[0]}}}"
    if not template.startswith(("https://", "http://")):
        return "an http(s):// URL template"
    return None


def route_url(template: str, places: Mapping[str, Any], route: Route, lang: str,
              token: str | None = None) -> str:
    start, goal = route.nodes[0], route.nodes[-1]
    values = {
        "from": quote(start),
        "to": quote(goal),
        "via": ",".join(quote(n) for n in route.nodes[1:-1]),
        "variant": route.variant,
        "lang": quote(lang),
    }
    coords = {}
    for key, place in (("from", start), ("to", goal)):
        p = places.get(place, {})
        if isinstance(p, dict) and "lat" in p and "lon" in p:
            coords[f"{key}_lat"] = f"{float(p['lat']):.5f}"
            coords[f"{key}_lon"] = f"{float(p['lon']):.5f}"
    needs = {f for _, f, _, _ in Formatter().parse(template) if f}
    if needs & {"from_lat", "from_lon", "to_lat", "to_lon"} - set(coords):
        template = FALLBACK_URL  # no coordinates for one end: still hand off the route
    url = template.format(**values, **coords)
    if token:
        url += ("" if "#" in url else "#") + ROUTE_FRAGMENT + token
    return url


@functools.lru_cache(maxsize=32)  # encoding (mask search) is ~50 ms on a Pi; payloads repeat
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules, quiet zone included (True = dark)."""
    import segno

    qr = segno.make_qr(payload, error="m")
    return tuple(tuple(bool(v) for v in row) for row in qr.matrix_iter(border=QUIET_ZONE))


def qr_surface(payload: str, side_px: int, dark: tuple, light: tuple) -> Any:
    """A square pygame surface with the code, whole modules only (no blurry scaling)."""
    import pygame

    matrix = qr_matrix(payload)
    n = len(matrix)
    module = max(2, side_px // n)
    surf = pygame.Surface((n * module, n * module))
    surf.fill(light)
    for y, row in enumerate(matrix):
        for x, v in enumerate(row):
            if v:
                surf.fill(dark, (x * module, y * module, module, module))
    return surf
