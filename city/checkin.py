"""Check-ins at signs: verify a sign's token, award points once per sign per account per day.

What the city learns from a check-in: which sign (node), which city-local day, which
pseudonymous account (a random id the phone's app made; no name, e-mail, phone number or
device id), and the points. What it never learns or stores: who the person is, the exact time
(only the day is kept; the token's 30 s window is used to check it and then dropped), the
phone's address or position, or anything the sign saw (the sign never learns who scanned).
A used token's hash is kept until its window has passed, only to refuse replays.

Refusals (each with its reason): malformed, unknown-node, wrong-node (the token is for another
sign than the one the app says it scanned), forged (the signature is not that sign's key's),
expired (older than the window before the current one), early (a window in the future),
replayed (the token was used already), already-today (this account checked in at this sign
today, and no route earns points either).

With a `route` (the token of a route handed off by another sign's QR), the walked route's
points are added (city/route_points.py); a refused route does not refuse the check-in: the
answer says why under "route".
"""

import hashlib
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from walkway.checkin import WINDOW_S, CheckinRefused, parse_token, signed_bytes, window_of

POINTS_PER_CHECKIN = 10
ACCOUNT = re.compile(r"[A-Za-z0-9_-]{16,64}")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS checkins (account TEXT NOT NULL, node TEXT NOT NULL,"
    " day TEXT NOT NULL, points INTEGER NOT NULL, PRIMARY KEY (account, node, day))",
    "CREATE TABLE IF NOT EXISTS checkin_tokens (digest TEXT PRIMARY KEY,"
    " until_window BIGINT NOT NULL)",
)


class CheckinBook:
    """The city's side; `keys`: node id -> Ed25519PublicKey; storage: the collector's."""

    def __init__(self, storage: Any, keys: dict[str, Any], timezone: str = "Asia/Tokyo",
                 sign_places: dict[str, str] | None = None) -> None:
        from city.route_points import SCHEMA as ROUTE_SCHEMA

        self.storage, self.keys, self.zone = storage, keys, ZoneInfo(timezone)
        self.sign_places = dict(sign_places or {})  # node -> the place id it stands at
        for statement in SCHEMA + ROUTE_SCHEMA:
            storage._execute(statement)

    def redeem(self, token: object, node: object, account: object, now: float,
               route: object = None) -> dict[str, Any]:
        """Points awarded, or CheckinRefused(reason)."""
        from cryptography.exceptions import InvalidSignature

        if not isinstance(account, str) or not ACCOUNT.fullmatch(account):
            raise CheckinRefused("malformed", "account: expected 16-64 letters, digits, - or _")
        window, token_node, sig = parse_token(token)
        if node != token_node:
            raise CheckinRefused("wrong-node", f"the token is for another sign than {node!r}")
        key = self.keys.get(token_node)
        if key is None:
            raise CheckinRefused("unknown-node", f"no check-in key for sign {token_node!r}")
        try:
            key.verify(sig, signed_bytes(token_node, window))
        except InvalidSignature:
            raise CheckinRefused("forged", "the signature is not this sign's") from None
        current = window_of(now)
        if window < current - 1:
            raise CheckinRefused("expired", f"the code is {(current - window) * WINDOW_S} s old")
        if window > current + 1:
            raise CheckinRefused("early", "the code's time window has not begun")
        digest = hashlib.sha256(signed_bytes(token_node, window) + sig).hexdigest()
        st = self.storage
        st._execute("DELETE FROM checkin_tokens WHERE until_window < %s", (current - 1,))
        if st._rows("SELECT 1 FROM checkin_tokens WHERE digest = %s", (digest,)):
            raise CheckinRefused("replayed", "this code was used already")
        st._execute("INSERT INTO checkin_tokens (digest, until_window) VALUES (%s, %s)",
                    (digest, window + 1))
        day = datetime.fromtimestamp(now, self.zone).date().isoformat()
        already = bool(st._rows("SELECT 1 FROM checkins WHERE account = %s AND node = %s"
                                " AND day = %s", (account, token_node, day)))
        walked: dict[str, Any] | None = None
        if route not in (None, ""):
            from city.route_points import award_route

            try:
                walked = award_route(st, self.keys, self.sign_places, route, token_node,
                                     account, day, now)
            except CheckinRefused as exc:
                if already:
                    raise
                walked = {"refused": exc.reason, "error": str(exc), "points": 0}
        if already and walked is None:
            raise CheckinRefused("already-today", "one check-in per sign per day")
        basic = 0 if already else POINTS_PER_CHECKIN
        if not already:
            st._execute("INSERT INTO checkins (account, node, day, points)"
                        " VALUES (%s, %s, %s, %s)", (account, token_node, day, basic))
        answer = {"node": token_node, "day": day, "checkin_points": basic,
                  "points": basic + (walked or {}).get("points", 0), "total": self.total(account)}
        if walked is not None:
            answer["route"] = walked
        return answer

    def total(self, account: str) -> int:
        rows = self.storage._rows(
            "SELECT (SELECT coalesce(sum(points), 0) FROM checkins WHERE account = %s)"
            " + (SELECT coalesce(sum(points), 0) FROM route_points WHERE account = %s)",
            (account, account))
        return int(rows[0][0] or 0)
