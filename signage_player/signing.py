"""Signed content packages and the "never older" rule (docs/content.md).

A package is signed by a detached Ed25519 signature in `manifest.sig` (base64 of the 64-byte
signature over the exact bytes of `manifest.json`). The manifest lists every file's sha256
and `load_package` checks them all, so one signature covers the whole package. The content
key is the city office's, made by `walkway provision content-key`; it is not a node key and
not the fleet CA's command-signing key, so a stolen node cannot publish content.

A sign with `[signage] content_public_key` set refuses packages that are unsigned or signed
by another key, and (always) packages older than the one it plays, unless told to roll back.
Order: version (dot/dash separated, numeric parts compared as numbers), then the manifest's
`created` time (ISO 8601, written by `walkway content build`).
"""

import base64
import binascii
import json
import re
from pathlib import Path
from typing import Any

from signage_player.content import MANIFEST, ContentError, Package

SIGNATURE_FILE = "manifest.sig"


def load_public_key(path: str | Path) -> Any:
    """The content public key (PEM SubjectPublicKeyInfo, Ed25519)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ContentError(f"{path}: expected an Ed25519 public key PEM ({exc})") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ContentError(f"{path}: expected an Ed25519 public key")
    return key


def load_private_key(path: str | Path) -> Any:
    """The content signing key (PEM PKCS8, unencrypted, Ed25519)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), None)
    except (OSError, ValueError, TypeError) as exc:
        raise ContentError(f"{path}: expected an unencrypted Ed25519 private key PEM") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ContentError(f"{path}: expected an Ed25519 private key")
    return key


def sign_package(root: str | Path, private_key: Any) -> Path:
    """Write `manifest.sig` for the package folder `root` (its hashes must be current)."""
    root = Path(root)
    signature = private_key.sign((root / MANIFEST).read_bytes())
    out = root / SIGNATURE_FILE
    out.write_text(base64.b64encode(signature).decode("ascii") + "\n", "ascii")
    return out


def verify_signature(root: str | Path, public_key: Any) -> None:
    """Raise ContentError (one line) unless `manifest.sig` signs `manifest.json`."""
    from cryptography.exceptions import InvalidSignature

    root = Path(root)
    sig_path = root / SIGNATURE_FILE
    if sig_path.is_symlink() or not sig_path.is_file():
        raise ContentError(
            f"{sig_path}: package is unsigned; this sign accepts only packages signed with "
            "the content key (content_public_key)"
        )
    try:
        signature = base64.b64decode(sig_path.read_text("ascii").strip(), validate=True)
    except (UnicodeDecodeError, binascii.Error, ValueError) as exc:
        raise ContentError(f"{sig_path}: expected a base64 Ed25519 signature") from exc
    manifest = root / MANIFEST
    if manifest.is_symlink() or not manifest.is_file():
        raise ContentError(f"{manifest}: missing manifest")
    try:
        public_key.verify(signature, manifest.read_bytes())
    except InvalidSignature as exc:
        raise ContentError(
            f"{sig_path}: signature does not match manifest.json under the configured "
            "content_public_key (wrong key or altered manifest)"
        ) from exc


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """'2026.12.01' < '2026.12.2' < '2026.12.10'; text parts sort after numbers."""
    parts = [p for p in re.split(r"[.\-_+]", version) if p]
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def created_of(root: Path) -> str:
    """The manifest's `created` field ('' if absent): ISO 8601 UTC sorts as text."""
    try:
        value = json.loads((root / MANIFEST).read_text("utf-8")).get("created", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def check_not_older(new: Package, current: Package | None, *, rollback: bool) -> None:
    """Refuse `new` if it is older than `current` (version, then created) unless rollback."""
    if current is None or rollback or new.digest == current.digest:
        return
    new_key = (version_key(new.version), created_of(new.root))
    cur_key = (version_key(current.version), created_of(current.root))
    if new_key < cur_key:
        raise ContentError(
            f"{new.root / MANIFEST}: version: {new.id} {new.version} is older than the playing"
            f" {current.id} {current.version}; refused (roll back with --rollback)"
        )
