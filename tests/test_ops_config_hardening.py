"""Issue 18 item 5: a set-config of [commands] (a public_key rotation) takes effect at once;
restart_command and [store] path cannot be changed remotely (one clear line, nothing
changed, no orphan store). Real broker, real edge process, in-process bridge."""

from pathlib import Path

import pytest
from support.ops_node import OpsNode


@pytest.fixture
def node(tmp_path: Path, broker):
    n = OpsNode(tmp_path, broker.url).start()
    yield n
    n.stop()


def _keys(tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    private = ed25519.Ed25519PrivateKey.generate()
    (tmp_path / "cmd.pub.pem").write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    key = tmp_path / "cmd.key.pem"
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return key


def test_a_rotated_public_key_checks_the_next_command(node: OpsNode, tmp_path: Path) -> None:
    key = _keys(tmp_path)
    text = node.config_file.read_text().replace("[commands]\n",
                                                '[commands]\npublic_key = "cmd.pub.pem"\n')
    results = node.send(node.command("set-config", {"toml": text}), timeout=30)
    assert [r["status"] for r in results] == ["accepted", "ok"], results
    unsigned = node.send(node.command("ping"))[-1]
    assert unsigned["status"] == "rejected" and "signature" in unsigned["reason"], unsigned
    signed = node.send(node.command("ping", sign_key=key))[-1]
    assert signed["status"] == "ok", signed
    assert node.restarts == ["walkway-edge"]  # no bridge restart was needed


@pytest.mark.parametrize(("change", "reason"), [
    (lambda t: t.replace("[commands]\n", '[commands]\nrestart_command = ["sh", "-c", "id"]\n'),
     "[commands] restart_command: cannot be changed by a remote config"),
    (lambda t: t.replace('path = "edge.db"', 'path = "moved/edge.db"'),
     "[store] path: cannot be moved by a remote config"),
])
def test_remote_config_cannot_change_the_restart_command_or_move_the_store(
        node: OpsNode, tmp_path: Path, change, reason) -> None:
    (tmp_path / "moved").mkdir()
    before = node.config_file.read_text()
    result = node.send(node.command("set-config", {"toml": change(before)}))[-1]
    assert result["status"] == "rejected" and reason in result["reason"], result
    assert "\n" not in result["reason"]
    assert node.config_file.read_text() == before and node.restarts == []
    assert list((tmp_path / "moved").iterdir()) == []  # no orphan store
