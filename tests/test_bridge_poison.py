"""Issue 18 item 2: a command (or ack) payload with a 5000-digit integer or 50,000-deep
nesting is a rejected command, never a dead bridge, signed commands or not."""

import json
from pathlib import Path

import pytest
from support.ops_node import CSV, node_toml

from cloud_bridge.bridge import Bridge
from edge.config import load_config
from walkway.notify import Notifier

DEEP = b'{"v": 1, "args": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
HUGE = b'{"v": 1, "type": "cmd", "id": "h1", "n": ' + b"7" * 5000 + b"}"
POISON = {
    "50,000 deep": DEEP,
    "5000-digit integer": HUGE,
    "NaN": b'{"v": 1, "id": "n1", "x": NaN}',
    "utf-16": json.dumps({"v": 1, "id": "u1"}).encode("utf-16"),
    "impossible expiry": json.dumps({"v": 1, "type": "cmd", "id": "e1", "site": "s1",
                                     "node": "n1", "command": "ping", "args": {},
                                     "issued_at": "2026-01-01T00:00:00Z",
                                     "expires_at": "2026-02-30T00:00:00Z"}).encode(),
}


def offline_bridge(tmp_path: Path, signed: bool) -> Bridge:
    extra = ""
    if signed:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        public = ed25519.Ed25519PrivateKey.generate().public_key()
        (tmp_path / "cmd.pub.pem").write_bytes(public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        extra = 'public_key = "cmd.pub.pem"'
    (tmp_path / "counts.csv").write_text(CSV)
    config = tmp_path / "node.toml"
    config.write_text(node_toml("mqtt://127.0.0.1:9", extra))  # never connects
    return Bridge(load_config(config), notifier=Notifier(None))


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_poison_commands_are_rejected_and_the_bridge_lives_on(tmp_path: Path,
                                                              signed: bool) -> None:
    bridge = offline_bridge(tmp_path, signed)
    try:
        for name, payload in POISON.items():
            bridge._on_message(bridge.cmd_topic, payload)
            result = json.loads(bridge.unsent_results[-1])
            assert result["status"] == "rejected", name
            assert result["reason"].startswith("malformed"), (name, result["reason"])
        assert len(bridge.unsent_results) == len(POISON)
        # Acks from the collector go through the same decoder.
        for payload in (DEEP, HUGE, b'{"msg": [1], "status": "stored"}'):
            bridge._on_message(bridge.ack_topic, payload)
        bridge.step(0.0)  # the loop still runs
    finally:
        bridge.store.close()
