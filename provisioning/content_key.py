"""The city office's content-signing key (`walkway provision content-key`).

Kept apart from node keys and from the fleet CA's command-signing key: whoever edits content
holds this key, and signs need only its public half (`[signage] content_public_key`).
Packages are signed by `walkway content build --key` (signage_player/signing.py).
"""

from dataclasses import dataclass
from pathlib import Path

from provisioning.errors import ProvisionError
from walkway.files import private_dir, write_atomic, write_private

PRIVATE = "content_signing.key"
PUBLIC = "content_signing.pub.pem"


@dataclass(frozen=True)
class ContentKey:
    private: Path
    public: Path


def create_content_key(out: Path, *, force: bool = False) -> ContentKey:
    """Write a new Ed25519 key pair into `out` (0700); never overwrite one unless force."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    out = Path(out)
    if (out / PRIVATE).exists() and not force:
        raise ProvisionError(
            f"{out / PRIVATE}: a content key already exists; refusing to replace it "
            "(signs trust its public key; pass --force to make a new one)"
        )
    private_dir(out)
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_private(out / PRIVATE, private_pem)
    write_atomic(out / PUBLIC, public_pem)
    return ContentKey(out / PRIVATE, out / PUBLIC)
