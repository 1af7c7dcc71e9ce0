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
DIGITS = re.compile(r"[0-9]{1,12}")  # str.isdigit() also takes "²", which int() refuses


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
    if len(parts) != 3 or not DIGITS.fullmatch(parts[0]) or not NODE_ID.fullmatch(parts[1]):
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


# -- the node's check-in key -----------------------------------------------------------------
def new_keypair() -> tuple[bytes, bytes]:
    """(private PEM PKCS8, public PEM SubjectPublicKeyInfo) of a fresh Ed25519 key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def load_private_key(path: object) -> object:
    """The sign's Ed25519 private key from a PEM file; ValueError naming the file."""
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(Path(str(path)).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: expected an unencrypted Ed25519 private key PEM ({exc})"
                         ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: expected an Ed25519 private key, got {type(key).__name__}")
    return key


# -- route tokens (points per walked route length) -------------------------------------------
# A sign's QR hand-off of a route carries `R.WINDOW.NODE.FROM.TO.METRES.SIGNATURE`: the 30 s
# window it was issued in, the issuing sign, the route's first and last place ids, its length
# in whole metres, signed by the issuing sign's key over
# `walkway-route/v1|NODE|FROM|TO|METRES|WINDOW`. Nothing about the person.
ROUTE_CONTEXT = "walkway-route/v1"
ROUTE_FRAGMENT = ";route:"  # appended to the hand-off URL's fragment (never sent to a server)
PLACE_ID = re.compile(r"[a-z0-9-]{1,40}")
ROUTE_MAX_M = 100_000


def route_signed_bytes(node: str, start: str, goal: str, metres: int, window: int) -> bytes:
    return f"{ROUTE_CONTEXT}|{node}|{start}|{goal}|{metres}|{window}".encode("ascii")


def make_route_token(node: str, private_key: object, now: float, start: str, goal: str,
                     length_m: float) -> str:
    """The route token a sign hands off with a route from `start` to `goal`."""
    metres = int(round(length_m))
    for what, value, pattern in (("node", node, NODE_ID), ("from", start, PLACE_ID),
                                 ("to", goal, PLACE_ID)):
        if not pattern.fullmatch(value):
            raise ValueError(f"{what}: expected {pattern.pattern}, got {value!r}")
    if not 0 <= metres <= ROUTE_MAX_M:
        raise ValueError(f"length_m: expected 0 to {ROUTE_MAX_M}, got {length_m!r}")
    window = window_of(now)
    sig = private_key.sign(  # type: ignore[attr-defined]
        route_signed_bytes(node, start, goal, metres, window))
    text = base64.urlsafe_b64encode(sig).decode("ascii").rstrip("=")
    return f"R.{window}.{node}.{start}.{goal}.{metres}.{text}"


def parse_route_token(text: object) -> tuple[int, str, str, str, int, bytes]:
    """(window, node, from, to, metres, signature) or CheckinRefused("route-malformed")."""
    if not isinstance(text, str) or not 0 < len(text) <= 2 * TOKEN_MAX:
        raise CheckinRefused("route-malformed", "expected a route token")
    if ROUTE_FRAGMENT in text:  # the whole hand-off URL: the token is at the fragment's end
        text = text.rsplit(ROUTE_FRAGMENT, 1)[1]
    parts = text.split(".")
    if (len(parts) != 7 or parts[0] != "R" or not DIGITS.fullmatch(parts[1])
            or not NODE_ID.fullmatch(parts[2]) or not PLACE_ID.fullmatch(parts[3])
            or not PLACE_ID.fullmatch(parts[4]) or not DIGITS.fullmatch(parts[5])
            or int(parts[5]) > ROUTE_MAX_M):
        raise CheckinRefused("route-malformed", "expected R.WINDOW.NODE.FROM.TO.METRES.SIGNATURE")
    try:
        sig = base64.urlsafe_b64decode(parts[6] + "=" * (-len(parts[6]) % 4))
    except (binascii.Error, ValueError):
        raise CheckinRefused("route-malformed", "signature: expected base64url") from None
    if len(sig) != 64 or base64.urlsafe_b64encode(sig).decode("ascii").rstrip("=") != parts[6]:
        raise CheckinRefused("route-malformed", "signature: expected canonical base64url")
    return int(parts[1]), parts[2], parts[3], parts[4], int(parts[5]), sig
