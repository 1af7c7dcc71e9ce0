"""Health telemetry and command results through a real broker into the collector, signed
commands, and `walkway fleet send` as a process."""

import json
import threading
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from support.ops_node import OpsNode
from support.walkway_procs import ROOT, run_walkway, wait_for

from cloud_bridge.collector import Collector
from cloud_bridge.collector_store import SqliteCollectorStorage

SCHEMAS = ROOT / "cloud_bridge" / "schemas"


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


@pytest.fixture
def collector(broker, tmp_path: Path):
    c = Collector(broker.url, SqliteCollectorStorage(tmp_path / "cloud.db"))
    thread = threading.Thread(target=c.run, daemon=True)
    thread.start()
    # Subscribed, not just connected: health published before the SUBACK would be lost.
    wait_for(lambda: c.link.connected and len(c.link.subscribed) == len(c.handlers), 30,
             "the collector's subscriptions acknowledged")
    yield tmp_path / "cloud.db"
    c.stop()
    thread.join(10)


def latest(db: Path) -> dict:
    storage = SqliteCollectorStorage(db)
    try:
        return storage.latest_health()
    finally:
        storage.close()


def test_health_reaches_the_collector_and_shows_a_dead_edge(tmp_path: Path, broker,
                                                             collector: Path) -> None:
    (tmp_path / "node").mkdir()
    node = OpsNode(tmp_path / "node", broker.url, stale_after_s=1.5).start()
    try:
        def replay_seen() -> dict | None:
            # The edge up too: stale_after_s is 1.5 s here (so the kill below shows fast), and
            # on a loaded machine one report may find a heartbeat a little older than that.
            health = latest(collector).get("s1/n1")
            ok = (health and health["sources"][0]["state"] in ("ok", "idle")
                  and health["edge"]["state"] == "up")
            return health if ok else None

        health = wait_for(replay_seen, 30, "health with the replay source and the edge up")
        jsonschema.validate(health, schema("health.v1"))
        assert health["edge"]["state"] == "up" and health["mqtt"]["connected"] is True
        assert health["config_sha256"] == node.bridge.config.sha256
        assert health["signage"]["state"] == "absent" and health["clock"]["source"]
        assert health["store"]["outbox_depth"] >= 0

        node.edge.kill9()  # the edge dies: its heartbeats stop, health must say so
        dead = wait_for(lambda: (h := latest(collector)["s1/n1"])["edge"]["state"] == "down"
                        and h, 30, "health reporting the edge down")
        assert dead["sources"][0]["state"] == "stalled"
        assert "edge down?" in dead["sources"][0]["reason"]
        storage = SqliteCollectorStorage(collector)
        assert len(storage.health_history("n1")) >= 2
        # Command results are collected too.
        ping = node.command("ping")
        assert node.send(ping)[-1]["status"] == "ok"
        wait_for(lambda: storage.results(ping["id"]), 30, "the result in the collector")
        jsonschema.validate(storage.results(ping["id"])[0], schema("cmd-result.v1"))
        storage.close()
    finally:
        node.stop()


def test_signed_commands(tmp_path: Path, broker) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    (tmp_path / "signing.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (tmp_path / "pub.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    node = OpsNode(tmp_path, broker.url, edge=False, extra='public_key = "pub.pem"\n').start()
    try:
        signed = node.command("ping", sign_key=tmp_path / "signing.key")
        jsonschema.validate(signed, schema("cmd.v1"))
        assert node.send(signed)[-1]["status"] == "ok"
        unsigned = node.send(node.command("ping"))[-1]
        assert unsigned["status"] == "rejected" and "MalformedCommand" in unsigned["reason"]
        tampered = {**node.command("ping", sign_key=tmp_path / "signing.key"),
                    "command": "restart", "args": {"service": "walkway-edge"}}
        result = node.send(tampered)[-1]
        assert result["status"] == "rejected" and "BadSignature" in result["reason"]
        expired = node.command("ping", sign_key=tmp_path / "signing.key",
                               now=0, expires_in=60)
        result = node.send(expired)[-1]
        assert result["status"] == "rejected" and "CommandExpired" in result["reason"]
        assert node.restarts == []
    finally:
        node.stop()


def test_fleet_send_cli(tmp_path: Path, broker) -> None:
    node = OpsNode(tmp_path, broker.url, edge=False).start()
    try:
        out = run_walkway("fleet", "send", "n1", "ping", "--site", "s1", "--broker",
                          broker.url, "--json", "--timeout", "20")
        result = json.loads(out.stdout.splitlines()[-1])
        assert result["status"] == "ok" and result["command"] == "ping"
        people = run_walkway("fleet", "send", "n1", "resend", "--arg", "since=2026-01-01",
                             "--site", "s1", "--broker", broker.url, "--timeout", "20")
        assert people.stdout.startswith("n1: resend ok  id=")
        assert "bins: 0" in people.stdout
        bad = run_walkway("fleet", "send", "n1", "nope", "--site", "s1", "--broker",
                          broker.url, "--timeout", "20", check=False)
        assert bad.returncode == 1 and "unknown command 'nope'" in bad.stdout
    finally:
        node.stop()
