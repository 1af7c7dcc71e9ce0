"""The rotating check-in QR on a sign that offers health points (walkway/checkin.py).

`checkin_surface(token, size)` draws the QR of CHECKIN_URL_PREFIX + token, white quiet zone
included, as a pygame surface; a new token every 30 s window. The code is drawn like the
interactive mode's route hand-off (segno, the signage extra's own QR library, whole modules
only), so a sign needs no camera libraries for it. `CheckinSigner` holds the sign's key
(`[signage] checkin_key`) and makes its check-in and route tokens; the player draws its
current code over the `checkin` scene (scenes/checkin.py).
"""

from typing import Any

from signage_player.interactive.handoff import qr_surface
from walkway.checkin import CHECKIN_URL_PREFIX, make_route_token, make_token, window_of


def checkin_surface(token: str, size: int) -> Any:
    return qr_surface(CHECKIN_URL_PREFIX + token, size, (0, 0, 0), (255, 255, 255))


def overlay_checkin(frame: Any, token: str, fraction: float = 0.22) -> tuple[int, int, int, int]:
    """Blit the check-in QR into the frame's bottom-right corner; returns its (x, y, w, h)."""
    side = int(min(frame.get_width(), frame.get_height()) * fraction)
    qr = checkin_surface(token, side)
    x = frame.get_width() - qr.get_width() - side // 10
    y = frame.get_height() - qr.get_height() - side // 10
    frame.blit(qr, (x, y))
    return x, y, qr.get_width(), qr.get_height()


class CheckinSigner:
    """The sign's check-in key: its codes, one per 30 s window, and its route tokens."""

    def __init__(self, node: str, key: Any) -> None:
        self.node, self.key = node, key
        self._drawn: tuple[tuple[int, int], Any] | None = None

    def token(self, now: float) -> str:
        return make_token(self.node, self.key, now)

    def route_token(self, now: float, route: Any) -> str | None:
        """The token handed off with `route` (None for a route without walked edges: its
        length is unknown, so it earns nothing)."""
        if not route.edges or route.nodes[0] == route.nodes[-1]:
            return None
        try:
            return make_route_token(self.node, self.key, now, route.nodes[0], route.nodes[-1],
                                    route.length_m)
        except ValueError:  # a place id a token cannot carry: hand off the route without
            return None

    def surface(self, now: float, side: int) -> Any:
        """The current window's QR (drawn once per window and size, then only blitted)."""
        key = (window_of(now), side)
        if self._drawn is None or self._drawn[0] != key:
            self._drawn = (key, checkin_surface(self.token(now), side))
        return self._drawn[1]


def load_signer(cfg: Any, node: str) -> "tuple[CheckinSigner | None, str]":
    """(signer or None, problem): a sign with no key offers no check-ins; a bad key is a
    problem the heartbeat reports, never a reason to stop the sign."""
    from walkway.checkin import NODE_ID, load_private_key

    if cfg.checkin_key is None:
        return None, ""
    if not NODE_ID.fullmatch(node or ""):
        return None, f"check-ins off: node id {node!r} cannot be in a check-in code"
    try:
        return CheckinSigner(node, load_private_key(cfg.checkin_key)), ""
    except ValueError as exc:
        return None, f"check-ins off: checkin_key: {exc}"
