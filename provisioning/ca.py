"""The fleet CA: one ECDSA P-256 key that signs node, collector and broker certificates,
a registry of what it issued (registry.json) and a CRL of what it revoked (crl.pem).

Layout of the CA directory (mode 0700):
  ca.key                    CA private key (0600; encrypted when WALKWAY_CA_PASSPHRASE is set)
  ca.pem                    CA certificate (public)
  registry.json             issued certificates: serial, CN, kind, site, expiry, revocation
  crl.pem                   the current certificate revocation list
  command_signing.key       Ed25519 key the cloud signs commands with (0600)
  command_signing.pub.pem   its public key, copied into every node directory

The CN is the broker username (mosquitto `use_identity_as_username`), so a CN is unique
among live certificates: two nodes sharing a CN would share their ACL.
"""

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning.errors import ProvisionError
from walkway.files import private_dir, write_atomic, write_private

CA_KEY, CA_CERT, REGISTRY, CRL = "ca.key", "ca.pem", "registry.json", "crl.pem"
SIGNING_KEY, SIGNING_PUB = "command_signing.key", "command_signing.pub.pem"
PASSPHRASE_ENV = "WALKWAY_CA_PASSPHRASE"
CA_DIR_ENV = "WALKWAY_CA_DIR"
DEFAULT_CA_DIR = "fleet-ca"
CRL_DAYS = 30


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_ca_dir() -> Path:
    return Path(os.environ.get(CA_DIR_ENV) or DEFAULT_CA_DIR)


@dataclass(frozen=True)
class Ca:
    dir: Path
    cert: Any  # cryptography x509.Certificate
    key: Any  # cryptography EllipticCurvePrivateKey


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def key_pem(key: Any, passphrase: bytes | None = None) -> bytes:
    from cryptography.hazmat.primitives import serialization

    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def cert_pem(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def new_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def init_ca(ca_dir: Path, *, name: str = "Walkway fleet CA", days: int = 3650) -> Ca:
    """Create a new CA, an empty registry and CRL, and the command-signing key pair."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import NameOID

    if (ca_dir / CA_KEY).exists():
        # Replacing a CA silently would lock every deployed node out of the broker.
        raise ProvisionError(f"{ca_dir / CA_KEY}: a CA already exists; refusing to replace it")
    private_dir(ca_dir)
    key = new_key()
    now = utcnow()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Walkway"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(ca_dir / CA_KEY, key_pem(key, _passphrase()))
    write_atomic(ca_dir / CA_CERT, cert_pem(cert))
    _save_registry(ca_dir, [])
    signing = ed25519.Ed25519PrivateKey.generate()
    write_private(ca_dir / SIGNING_KEY, key_pem(signing))
    write_atomic(
        ca_dir / SIGNING_PUB,
        signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    ca = Ca(ca_dir, cert, key)
    write_crl(ca)
    return ca


def load_ca(ca_dir: Path) -> Ca:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        key_bytes = (ca_dir / CA_KEY).read_bytes()
        cert = x509.load_pem_x509_certificate((ca_dir / CA_CERT).read_bytes())
    except FileNotFoundError as exc:
        raise ProvisionError(
            f"{exc.filename}: no fleet CA here; run `walkway provision ca init` "
            f"or pass --ca-dir / set {CA_DIR_ENV}"
        ) from exc
    try:
        key = serialization.load_pem_private_key(key_bytes, _passphrase())
    except (TypeError, ValueError) as exc:
        # Never echo the exception text: it is about key material.
        raise ProvisionError(
            f"{ca_dir / CA_KEY}: cannot load the CA key; expected {PASSPHRASE_ENV} to hold "
            "its passphrase (or to be unset for an unencrypted key)"
        ) from exc
    return Ca(ca_dir, cert, key)


def load_registry(ca_dir: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads((ca_dir / REGISTRY).read_text())
        return list(data["certificates"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProvisionError(f"{ca_dir / REGISTRY}: expected the CA registry JSON") from exc


def _save_registry(ca_dir: Path, entries: list[dict[str, Any]]) -> None:
    text = json.dumps({"certificates": entries}, indent=2, sort_keys=True) + "\n"
    write_private(ca_dir / REGISTRY, text.encode())


def live_entries(ca_dir: Path, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Issued, not revoked, not yet expired."""
    now = now or utcnow()
    return [e for e in load_registry(ca_dir) if entry_state(e, now) == "valid"]


def entry_state(entry: dict[str, Any], now: dt.datetime) -> str:
    """valid | expired | revoked, for one registry entry."""
    if entry.get("revoked_at"):
        return "revoked"
    return "valid" if dt.datetime.fromisoformat(entry["not_after"]) > now else "expired"


def issue(
    ca: Ca,
    *,
    cn: str,
    kind: str,
    public_key: Any,
    days: float,
    site: str | None = None,
    hosts: tuple[str, ...] = (),
    renews: str | None = None,
) -> Any:
    """Sign a certificate for `cn` and record it. kind: node | collector | server."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = utcnow()
    for entry in live_entries(ca.dir, now):
        same_holder = entry["cn"] == cn and entry["kind"] == kind and entry.get("site") == site
        if entry["cn"] == cn and not same_holder:
            raise ProvisionError(
                f"CN {cn!r} is already issued as {entry['kind']} for site {entry.get('site')!r} "
                f"(serial {entry['serial']}); revoke it first: CNs are broker usernames"
            )
    names = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Walkway")]
    if site:
        names.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, site))
    names.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    usage = ExtendedKeyUsageOID.SERVER_AUTH if kind == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(names))
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate small clock skew
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if hosts:
        alt: list[x509.GeneralName] = []
        for host in hosts:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                alt.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    entries = load_registry(ca.dir)
    entries.append(
        {
            "serial": format(cert.serial_number, "x"),
            "cn": cn,
            "kind": kind,
            "site": site,
            "not_after": cert.not_valid_after_utc.isoformat(),
            "issued_at": now.isoformat(),
            "renews": renews,
            "revoked_at": None,
        }
    )
    _save_registry(ca.dir, entries)
    return cert


def revoke(ca: Ca, *, cn: str | None = None, serial: str | None = None) -> list[str]:
    """Mark matching live certificates revoked and rewrite crl.pem. Returns their serials."""
    entries = load_registry(ca.dir)
    now = utcnow().isoformat()
    wanted = serial.lower().removeprefix("0x") if serial else None
    hits = []
    for entry in entries:
        if entry.get("revoked_at"):
            continue
        if (cn is not None and entry["cn"] == cn) or (wanted and entry["serial"] == wanted):
            entry["revoked_at"] = now
            hits.append(entry["serial"])
    if not hits:
        raise ProvisionError(
            f"{ca.dir / REGISTRY}: no unrevoked certificate with "
            + (f"CN {cn!r}" if cn is not None else f"serial {serial!r}")
        )
    _save_registry(ca.dir, entries)
    write_crl(ca)
    return hits


def build_crl(ca: Ca, days: int = CRL_DAYS) -> bytes:
    """A CRL of every revoked serial. OpenSSL rejects ALL client certificates once the CRL's
    next_update has passed, so the broker's copy must be refreshed within `days`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = utcnow()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=days))
    )
    for entry in load_registry(ca.dir):
        if entry.get("revoked_at"):
            revoked = (
                x509.RevokedCertificateBuilder()
                .serial_number(int(entry["serial"], 16))
                .revocation_date(dt.datetime.fromisoformat(entry["revoked_at"]))
                .build()
            )
            builder = builder.add_revoked_certificate(revoked)
    return cert_pem(builder.sign(ca.key, hashes.SHA256()))  # same PEM call as a cert


def write_crl(ca: Ca, dest: Path | None = None) -> Path:
    return write_atomic(dest or ca.dir / CRL, build_crl(ca))
