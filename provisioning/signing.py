"""Ed25519 signatures on cloud -> node commands, so a node obeys only the city's cloud even
if the broker or a collector credential is compromised (the ACL is the first fence, this the
second).

Message format (a JSON object on walkway/v1/{site}/{node}/cmd):

    {"v": 1, "type": "cmd", "id": "c42", "site": "s1", "node": "n1", "command": "ping",
     "expires_at": "2026-11-25T01:00:00Z", ..., "signature": "<base64 Ed25519 signature>"}

(schema: cloud_bridge/schemas/cmd.v1.json; this module checks only what the signature needs.)

The signature covers the canonical JSON of every other field: keys sorted, no whitespace,
UTF-8, no NaN/Infinity (`canonical_json`). `expires_at` (ISO 8601 UTC, as on the wire) is
required and signed, so an old command cannot be replayed after it expires. Within its life
a command can be replayed: the handler should remember the `id`s it has run until they expire.

API (cloud side / node side):

    signed = sign_command(payload, private_key)            # payload must hold expires_at
    payload = verify_command(message, public_key, now, node="n1")   # now: epoch seconds
    # raises BadSignature, CommandExpired, WrongTarget or MalformedCommand (all CommandError)

    private_key = load_private_key(path)   # command_signing.key in the CA directory
    public_key = load_public_key(path)     # command_signing.pub.pem in each node directory
"""

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from walkway.errors import WalkwayError
from walkway.timeutil import parse_iso

SIGNATURE = "signature"
MAX_LIFETIME_S = 7 * 24 * 3600  # a signed command valid for longer is refused as malformed


class CommandError(WalkwayError):
    """A command the node must not run. The message says why, without the payload."""


class MalformedCommand(CommandError):
    """Not a JSON object, no/invalid signature or expires_at field, or not canonical-encodable."""


class BadSignature(CommandError):
    """The signature does not match the payload under the cloud's public key."""


class CommandExpired(CommandError):
    """`expires_at` is in the past."""


class WrongTarget(CommandError):
    """The command names another node (a replay of a command sent to someone else)."""


def canonical_json(payload: dict[str, Any]) -> bytes:
    """The exact bytes signed: sorted keys, compact separators, UTF-8, finite numbers only."""
    try:
        text = json.dumps(
            payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise MalformedCommand(f"command: expected JSON-encodable fields ({exc})") from exc
    return text.encode("utf-8")


def _expiry(payload: dict[str, Any]) -> float:
    value = payload.get("expires_at")
    if not isinstance(value, str):
        raise MalformedCommand("command: expires_at: expected an ISO 8601 UTC time string")
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise MalformedCommand(f"command: expires_at: expected ISO 8601, got {value!r}") from exc


def sign_command(payload: dict[str, Any], private_key: Any) -> dict[str, Any]:
    """Return `payload` plus a `signature` field. `private_key`: an Ed25519PrivateKey."""
    if not isinstance(payload, dict) or SIGNATURE in payload:
        raise MalformedCommand("command: expected a JSON object without a signature field")
    _expiry(payload)
    signature = private_key.sign(canonical_json(payload))
    return {**payload, SIGNATURE: base64.b64encode(signature).decode("ascii")}


def verify_command(
    message: dict[str, Any], public_key: Any, now: float, *, node: str | None = None
) -> dict[str, Any]:
    """Check a received command; return its payload (without `signature`).

    `now` is epoch seconds (inject the clock). With `node`, the command must name that node
    in its `node` field. The signature is checked before anything else is trusted.
    """
    from cryptography.exceptions import InvalidSignature

    if not isinstance(message, dict):
        raise MalformedCommand("command: expected a JSON object")
    payload = {k: v for k, v in message.items() if k != SIGNATURE}
    encoded = message.get(SIGNATURE)
    if not isinstance(encoded, str):
        raise MalformedCommand("command: signature: expected a base64 string")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedCommand("command: signature: expected a base64 string") from exc
    try:
        public_key.verify(signature, canonical_json(payload))
    except InvalidSignature as exc:
        raise BadSignature("command: signature does not match the cloud's public key") from exc
    expires = _expiry(payload)
    if expires <= now:
        raise CommandExpired(f"command: expired at {payload['expires_at']}")
    if expires - now > MAX_LIFETIME_S:
        raise MalformedCommand(
            f"command: expires_at: expected at most {MAX_LIFETIME_S} s ahead, got "
            f"{payload['expires_at']}"
        )
    if node is not None and payload.get("node") != node:
        raise WrongTarget(f"command: node: expected {node!r}, got {payload.get('node')!r}")
    return payload


def load_private_key(path: Path) -> Any:
    """The cloud's Ed25519 signing key (PEM, PKCS8, unencrypted)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), None)
    except (OSError, ValueError, TypeError) as exc:
        raise CommandError(f"{path}: expected an unencrypted Ed25519 private key PEM") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise CommandError(f"{path}: expected an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Any:
    """The cloud's Ed25519 public key (PEM SubjectPublicKeyInfo), as held by each node."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise CommandError(f"{path}: expected an Ed25519 public key PEM") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise CommandError(f"{path}: expected an Ed25519 public key")
    return key
