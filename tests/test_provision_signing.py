"""Command signing: what the cloud signs, a node accepts, and everything it must refuse."""

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from provisioning.signing import (
    BadSignature,
    CommandError,
    CommandExpired,
    MalformedCommand,
    WrongTarget,
    canonical_json,
    load_private_key,
    load_public_key,
    sign_command,
    verify_command,
)
from walkway.cli import main
from walkway.errors import WalkwayError
from walkway.timeutil import parse_iso

NOW = parse_iso("2026-11-25T00:00:00Z")
PAYLOAD = {  # a cloud_bridge/schemas/cmd.v1.json command
    "v": 1, "type": "cmd", "id": "c1", "site": "s1", "node": "n1", "command": "set-config",
    "args": {"package": "winter-2026", "weight": 1.5, "note": "札幌"},
    "issued_at": "2026-11-25T00:00:00Z", "expires_at": "2026-11-25T00:10:00Z",
}


@pytest.fixture
def keys():
    key = ed25519.Ed25519PrivateKey.generate()
    return key, key.public_key()


def test_signed_command_round_trips_through_json(keys):
    private, public = keys
    wire = json.dumps(sign_command(PAYLOAD, private)).encode()  # as published on MQTT
    assert verify_command(json.loads(wire), public, NOW, node="n1") == PAYLOAD


def test_signature_is_over_canonical_json_regardless_of_key_order(keys):
    private, public = keys
    signed = sign_command(PAYLOAD, private)
    reordered = dict(reversed(list(signed.items())))
    assert verify_command(reordered, public, NOW) == PAYLOAD
    raw = base64.b64decode(signed["signature"])
    public.verify(raw, canonical_json(PAYLOAD))  # documented encoding, checked independently
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.update(command="restart"),
        lambda m: m["args"].update(package="evil"),
        lambda m: m.update(expires_at="2027-01-01T00:00:00Z"),  # extend its life
        lambda m: m.update(extra=True),
    ],
)
def test_tampered_command_is_refused(keys, tamper):
    private, public = keys
    message = json.loads(json.dumps(sign_command(PAYLOAD, private)))
    tamper(message)
    with pytest.raises(BadSignature):
        verify_command(message, public, NOW)


def test_command_signed_by_another_key_is_refused(keys):
    _, public = keys
    forged = sign_command(PAYLOAD, ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(BadSignature):
        verify_command(forged, public, NOW)


def test_expired_command_is_refused(keys):
    private, public = keys
    signed = sign_command(PAYLOAD, private)
    with pytest.raises(CommandExpired, match="expired at 2026-11-25T00:10:00Z"):
        verify_command(signed, public, parse_iso("2026-11-25T00:10:00Z"))
    assert verify_command(signed, public, parse_iso("2026-11-25T00:09:59Z"))


def test_command_for_another_node_is_refused(keys):
    private, public = keys
    with pytest.raises(WrongTarget):
        verify_command(sign_command(PAYLOAD, private), public, NOW, node="n2")


@pytest.mark.parametrize(
    "message",
    [
        None,
        [],
        {"id": "x"},  # no signature
        {**PAYLOAD, "signature": 42},
        {**PAYLOAD, "signature": "not base64!"},
    ],
)
def test_malformed_command_is_refused(keys, message):
    with pytest.raises(MalformedCommand):
        verify_command(message, keys[1], NOW)


def test_signed_command_without_a_valid_expiry_is_refused(keys):
    private, public = keys
    for payload in ({"id": "x"}, {"id": "x", "expires_at": 1764028800}):
        with pytest.raises(MalformedCommand):
            sign_command(payload, private)
        # ... and a node refuses one even if the cloud signed it anyway.
        signed = {**payload, "signature": base64.b64encode(
            private.sign(canonical_json(payload))).decode()}
        with pytest.raises(MalformedCommand):
            verify_command(signed, public, NOW)
    far = {**PAYLOAD, "expires_at": "2027-11-25T00:00:00Z"}
    with pytest.raises(MalformedCommand, match="at most"):
        verify_command(sign_command(far, private), public, NOW)


def test_errors_are_walkway_errors_for_one_line_reporting():
    for cls in (BadSignature, CommandExpired, MalformedCommand, WrongTarget):
        assert issubclass(cls, CommandError) and issubclass(cls, WalkwayError)


def test_keys_made_by_ca_init_sign_and_verify(tmp_path, capsys):
    assert main(["provision", "ca", "init", "--ca-dir", str(tmp_path / "ca")]) == 0
    assert main(["provision", "node", "--ca-dir", str(tmp_path / "ca"), "--site", "s1",
                 "--node", "n1", "--out", str(tmp_path / "n1")]) == 0
    capsys.readouterr()
    private = load_private_key(tmp_path / "ca" / "command_signing.key")
    public = load_public_key(tmp_path / "n1" / "command_signing.pub.pem")
    assert verify_command(sign_command(PAYLOAD, private), public, NOW, node="n1") == PAYLOAD
    assert not (tmp_path / "n1" / "command_signing.key").exists()
    with pytest.raises(CommandError):
        load_public_key(tmp_path / "n1" / "node.pem")
