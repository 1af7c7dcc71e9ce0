"""Health-point check-in tokens: shown by a sign as a QR code, redeemed in the city's app.

A token is `WINDOW.NODE.SIGNATURE`: the 30 s time window's number (epoch seconds // 30), the
sign's node id, and the base64url Ed25519 signature by the node's key over
`walkway-checkin/v1|NODE|WINDOW`. It says which sign and when, and nothing about the person
scanning it: the sign never learns who scans. The QR encodes `CHECKIN_URL_PREFIX` + token.
Pure functions; the city side (city/checkin.py) keeps replays and points.
"""

import base64
import binascii
import re

WINDOW_S = 30
CONTEXT = "walkway-checkin/v1"
CHECKIN_URL_PREFIX = "https://walkway.example/checkin#"
TOKEN_MAX = 200
NODE_ID = re.compile(r"[a-z0-9-]{1,40}")


class CheckinRefused(Exception):
    """A token or request the city will not award; `reason` is one short word."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def window_of(now: float) -> int:
    return int(now // WINDOW_S)


def signed_bytes(node: str, window: int) -> bytes:
    return f"{CONTEXT}|{node}|{window}".encode("ascii")


def make_token(node: str, private_key: object, now: float) -> str:
    """The token a sign shows now (`private_key`: an Ed25519PrivateKey)."""
    if not NODE_ID.fullmatch(node):
        raise ValueError(f"node: expected {NODE_ID.pattern}, got {node!r}")
    window = window_of(now)
    sig = private_key.sign(signed_bytes(node, window))  # type: ignore[attr-defined]
    return f"{window}.{node}.{base64.urlsafe_b64encode(sig).decode('ascii').rstrip('=')}"


def parse_token(text: object) -> tuple[int, str, bytes]:
    """(window, node, signature) or CheckinRefused("malformed", ...); checks the shape only."""
    if not isinstance(text, str) or not 0 < len(text) <= TOKEN_MAX:
        raise CheckinRefused("malformed", f"expected a token of at most {TOKEN_MAX} characters")
    text = text.removeprefix(CHECKIN_URL_PREFIX)
    parts = text.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not NODE_ID.fullmatch(parts[1]):
        raise CheckinRefused("malformed", "expected WINDOW.NODE.SIGNATURE")
    try:
        sig = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
    except (binascii.Error, ValueError):
        raise CheckinRefused("malformed", "signature: expected base64url") from None
    if len(sig) != 64:
        raise CheckinRefused("malformed", "signature: expected 64 bytes (Ed25519)")
    if base64.urlsafe_b64encode(sig).decode("ascii").rstrip("=") != parts[2]:
        # base64's spare bits would give one signature many spellings (replays past a check
        # on the text): only the canonical spelling is a token
        raise CheckinRefused("malformed", "signature: expected canonical base64url")
    return int(parts[0]), parts[1], sig
