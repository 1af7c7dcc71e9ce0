"""Points per walked route length: a route handed off by an interactive sign's QR, then a
check-in at the destination sign (docs/city-checkin.md, "Points per walked route").

The rule: 1 point per full 100 m of the route's length as the issuing sign computed it on its
walkway graph, at most 30 points (3 km), on top of the destination's check-in. At most once per
route token (by anyone) and once per account per (issuing sign, destination) per city day. The
route token must be signed by the issuing sign's check-in key, name this sign's place as its
destination, be at most 3 h old, and be at least as old as walking its length at 2.5 m/s
takes (a faster arrival was not walked). What the city keeps: the account, the issuing sign,
the destination place, the day, the metres and the points; not the times.
"""

import hashlib
from typing import Any

from walkway.checkin import (
    WINDOW_S,
    CheckinRefused,
    parse_route_token,
    route_signed_bytes,
    window_of,
)

POINTS_PER_100M = 1
POINTS_CAP = 30
MAX_AGE_S = 3 * 3600
FASTEST_WALK_M_S = 2.5
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS route_points (account TEXT NOT NULL, origin TEXT NOT NULL,"
    " goal TEXT NOT NULL, day TEXT NOT NULL, metres INTEGER NOT NULL, points INTEGER NOT NULL,"
    " PRIMARY KEY (account, origin, goal, day))",
    "CREATE TABLE IF NOT EXISTS route_tokens (digest TEXT PRIMARY KEY,"
    " until_window BIGINT NOT NULL)",
)


def points_for(metres: int) -> int:
    return min(POINTS_CAP, metres // 100 * POINTS_PER_100M)


def award_route(storage: Any, keys: dict[str, Any], sign_places: dict[str, str], route: object,
                node: str, account: str, day: str, now: float) -> dict[str, Any]:
    """Record and return the route's points for a valid check-in at `node`, or raise
    CheckinRefused with a `route-...` reason."""
    from cryptography.exceptions import InvalidSignature

    window, origin, start, goal, metres, sig = parse_route_token(route)
    key = keys.get(origin)
    if key is None:
        raise CheckinRefused("route-unknown-node", f"no check-in key for sign {origin!r}")
    try:
        key.verify(sig, route_signed_bytes(origin, start, goal, metres, window))
    except InvalidSignature:
        raise CheckinRefused("route-forged", "the route's signature is not its sign's") from None
    here = sign_places.get(node)
    if here is None:
        raise CheckinRefused("route-no-place", f"the city does not know where sign {node!r}"
                             " stands (signs.toml)")
    if goal != here:
        raise CheckinRefused("route-wrong-destination",
                             f"the route goes to {goal!r}, this sign stands at {here!r}")
    current = window_of(now)
    if window > current + 1:
        raise CheckinRefused("route-early", "the route's time window has not begun")
    age_s = (current - window) * WINDOW_S
    if age_s > MAX_AGE_S:
        raise CheckinRefused("route-expired", f"the route was handed off {age_s // 60} min ago"
                             f" (at most {MAX_AGE_S // 3600} h)")
    if age_s + WINDOW_S < metres / FASTEST_WALK_M_S:  # one window's slack: issue time is coarse
        raise CheckinRefused("route-too-fast", f"{metres} m in at most {age_s + WINDOW_S} s is"
                             " faster than walking")
    digest = hashlib.sha256(route_signed_bytes(origin, start, goal, metres, window) + sig
                            ).hexdigest()
    st = storage
    st._execute("DELETE FROM route_tokens WHERE until_window < %s", (current,))
    if st._rows("SELECT 1 FROM route_tokens WHERE digest = %s", (digest,)):
        raise CheckinRefused("route-replayed", "this route was redeemed already")
    if st._rows("SELECT 1 FROM route_points WHERE account = %s AND origin = %s AND goal = %s"
                " AND day = %s", (account, origin, goal, day)):
        raise CheckinRefused("route-already-today", "points for this route once a day")
    st._execute("INSERT INTO route_tokens (digest, until_window) VALUES (%s, %s)",
                (digest, window + MAX_AGE_S // WINDOW_S + 1))
    points = points_for(metres)
    st._execute("INSERT INTO route_points (account, origin, goal, day, metres, points)"
                " VALUES (%s, %s, %s, %s, %s, %s)", (account, origin, goal, day, metres, points))
    return {"from": start, "to": goal, "via_sign": origin, "length_m": metres, "points": points}
