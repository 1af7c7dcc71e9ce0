"""The rotating check-in QR on a sign that offers health points (walkway/checkin.py).

`checkin_surface(token, size)` draws the QR of CHECKIN_URL_PREFIX + token, white quiet zone
included, as a pygame surface for a scene to blit; a new token every 30 s window. The code is
drawn like the interactive mode's route hand-off (segno, the signage extra's own QR library,
whole modules only), so a sign needs no camera libraries for it.
"""

from typing import Any

from signage_player.interactive.handoff import qr_surface
from walkway.checkin import CHECKIN_URL_PREFIX


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
