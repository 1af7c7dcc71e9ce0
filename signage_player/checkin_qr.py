"""The rotating check-in QR on a sign that offers health points (walkway/checkin.py).

`checkin_surface(token, size)` draws the QR of CHECKIN_URL_PREFIX + token, white quiet zone
included, as a pygame surface for a scene to blit; a new token every 30 s window. cv2 (which
the nodes have for the camera) encodes the QR; pygame and cv2 are imported here, not at start.
"""

from typing import Any

from walkway.checkin import CHECKIN_URL_PREFIX


def qr_modules(text: str) -> Any:
    """The QR code as a uint8 array, 0 = dark module, 255 = light (quiet zone included)."""
    import cv2

    return cv2.QRCodeEncoder.create().encode(text)


def checkin_surface(token: str, size: int) -> Any:
    import numpy as np
    import pygame

    modules = qr_modules(CHECKIN_URL_PREFIX + token)
    scale = max(size // modules.shape[0], 1)
    big = np.kron(modules, np.ones((scale, scale), dtype=np.uint8))
    rgb = np.repeat(big[:, :, None], 3, axis=2)
    return pygame.surfarray.make_surface(rgb.transpose(1, 0, 2))


def overlay_checkin(frame: Any, token: str, fraction: float = 0.22) -> tuple[int, int, int, int]:
    """Blit the check-in QR into the frame's bottom-right corner; returns its (x, y, w, h)."""
    side = int(min(frame.get_width(), frame.get_height()) * fraction)
    qr = checkin_surface(token, side)
    x = frame.get_width() - qr.get_width() - side // 10
    y = frame.get_height() - qr.get_height() - side // 10
    frame.blit(qr, (x, y))
    return x, y, qr.get_width(), qr.get_height()
