"""Remote commands over a real broker: every command, the bad ones (unknown, expired,
malformed, wrong node, bad arguments), idempotent re-delivery, and set-config committed
when the edge comes up healthy and rolled back when it does not."""

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from support.ops_node import OpsNode
from support.walkway_procs import wait_for

from walkway.signage_state.emergency import read_emergency
from walkway.signage_state.player import answer_screenshot, pending_screenshot

RAW = {"id": None, "site": "s1", "node": "n1"}  # where a raw payload goes
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def node(tmp_path: Path, broker):
    n = OpsNode(tmp_path, broker.url).start()
    yield n
    n.stop()


def final(results: list[dict]) -> dict:
    assert results, "no result"
    return results[-1]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_simple_command_and_idempotent_redelivery(node: OpsNode, tmp_path: Path) -> None:
    ping = final(node.send(node.command("ping")))
    assert ping["status"] == "ok" and ping["data"]["pong"] is True
    assert ping["data"]["edge"] == "up" and ping["data"]["config_sha256"] == sha(node.config_file)

    shown = final(node.send(node.command("show-config")))
    assert shown["status"] == "ok" and shown["data"]["toml"] == node.config_file.read_text()

    # resend: delivered bins go back to the outbox (none delivered yet here: 0 is fine).
    resend = node.command("resend", {"since": "2026-01-12T00:00:00Z"})
    first = final(node.send(resend))
    assert first["status"] == "ok" and first["data"]["since"] == "2026-01-12T00:00:00Z"

    restart = final(node.send(node.command("restart", {"service": "walkway-signage"})))
    assert restart["status"] == "ok" and node.restarts == ["walkway-signage"]

    state_dir = tmp_path / "signage-state"
    on = node.command("emergency-on", {"text": {"ja": "避難してください", "en": "Evacuate"}})
    assert final(node.send(on))["status"] == "ok"
    notice = read_emergency(state_dir)
    assert notice is not None and notice.text["en"] == "Evacuate"
    # The same command delivered again: the remembered result, not a second run.
    again = final(node.send(on))
    assert again["replayed"] is True and again["status"] == "ok"
    assert read_emergency(state_dir).stamp == notice.stamp
    assert final(node.send(node.command("restart", {"service": "walkway-signage"})))
    assert final(node.send(restart_msg := node.command(
        "restart", {"service": "walkway-signage"})))["status"] == "ok"
    assert final(node.send(restart_msg))["replayed"] is True
    assert node.restarts.count("walkway-signage") == 3  # 3 ids, one re-delivery not re-run

    off = final(node.send(node.command("emergency-off")))
    assert off["status"] == "ok" and off["data"]["was_set"] is True
    assert read_emergency(state_dir) is None

    # screenshot: the player (here a thread) answers the request file with a PNG.
    def player() -> None:
        cmd_id = wait_for(lambda: pending_screenshot(state_dir), 30, "a screenshot request")
        answer_screenshot(state_dir, cmd_id, PNG)

    threading.Thread(target=player, daemon=True).start()
    shot = node.send(node.command("screenshot"))
    assert [r["status"] for r in shot] == ["accepted", "ok"]
    assert shot[-1]["data"]["bytes"] == len(PNG)
    # No player running: a clear failure after [commands] screenshot_timeout_s.
    late = node.send(node.command("screenshot"))
    assert late[-1]["status"] == "failed" and "did not answer" in late[-1]["reason"]


def test_bad_commands_get_a_reason_and_change_nothing(node: OpsNode, tmp_path: Path) -> None:
    before = sha(node.config_file)
    past = time.time() - 600
    cases = [
        (node.command("self-destruct"), None, "unknown command 'self-destruct'"),
        (node.command("emergency-on", {"text": {"ja": "x"}}, now=past, expires_in=60), None,
         "expired at"),
        (RAW, b"{not json", "malformed: not JSON"),
        ({**RAW, "id": "m1"}, json.dumps({"v": 1, "type": "cmd", "id": "m1", "command": "ping"}
                                         ).encode(), "malformed: data must contain"),
        (RAW, b"[1, 2, 3]", "malformed: expected a JSON object"),
        ({**node.command("ping"), "id": "w1", "node": "n2"}, None, None),  # other node's
        (node.command("resend", {"since": "yesterday"}), None, "args.since"),
        (node.command("restart", {"service": "sshd"}), None, "args.service"),
        (node.command("set-config", {"toml": "[node]\nid = 'n1'\n"}), None, "invalid config"),
        (node.command("set-config", {"toml": "x = 1", "if_sha256": "0" * 64}), None,
         "args.if_sha256: the config is now"),
        (node.command("emergency-on", {"text": {"en": "no Japanese"}}), None, "(ja)"),
        (node.command("move-line", {"source": "replay", "line": "x",
                                    "points": [0, 0, 1, 1]}), None, "not a camera"),
    ]
    for message, payload, reason in cases:
        if message.get("node") == "n2":
            # Published on n2's topic, so n1 never sees it; on n1's topic it is refused.
            payload = json.dumps(message).encode()
            message = {**message, "node": "n1"}
            reason = "wrong node"
        result = final(node.send(message, payload=payload))
        assert result["status"] == "rejected", result
        assert reason in result["reason"], result
    assert sha(node.config_file) == before
    assert read_emergency(tmp_path / "signage-state") is None
    assert node.restarts == []
    with sqlite3.connect(tmp_path / "edge.db") as conn:
        assert conn.execute("SELECT count(*) FROM commands").fetchone()[0] == 0


@pytest.mark.slow
def test_set_config_commits_when_healthy_and_rolls_back_when_not(node: OpsNode,
                                                                 tmp_path: Path) -> None:
    original = node.config_file.read_text()
    changed = original.replace("every_s = 0.5", "every_s = 0.7")
    results = node.send(node.command("set-config", {"toml": changed}), timeout=30)
    assert [r["status"] for r in results] == ["accepted", "ok"], results
    new_sha = hashlib.sha256(changed.encode()).hexdigest()
    assert results[-1]["data"]["sha256"] == new_sha
    assert node.edge_state()["config_sha256"] == new_sha
    assert (tmp_path / "node.toml.prev").read_text() == original
    assert node.restarts == ["walkway-edge"]

    # Valid TOML and a valid config, but its source cannot start (the file has no header).
    (tmp_path / "broken.csv").write_text("this is not a counts file\n")
    broken = changed.replace('path = "counts.csv"', 'path = "broken.csv"')
    results = node.send(node.command("set-config", {"toml": broken}), timeout=30)
    assert [r["status"] for r in results] == ["accepted", "rolled-back"], results
    assert "source replay: disconnected" in results[-1]["reason"]
    assert "previous config restored" in results[-1]["reason"]
    assert node.config_file.read_text() == changed
    assert (tmp_path / "node.toml.rejected").read_text() == broken
    assert node.restarts == ["walkway-edge"] * 3  # apply, apply, roll back
    wait_for(lambda: node.edge_state()["config_sha256"] == new_sha, 30,
             "the edge back on the previous config")


def test_move_line_and_recalibrate_edit_the_camera_config(tmp_path: Path, broker) -> None:
    camera = """[[sources]]
type = "camera"
name = "cam1"
device = "no-such-camera.mp4"

[[sources.lines]]
name = "main"
points = [0.1, 0.5, 0.9, 0.5]
"""
    n = OpsNode(tmp_path, broker.url, edge=False, sources=camera, apply_timeout_s=1).start()
    try:
        moved = n.send(n.command("move-line", {"source": "cam1", "line": "main",
                                               "points": [0.2, 0.4, 0.8, 0.6]}))
        assert [r["status"] for r in moved] == ["accepted", "rolled-back"]
        rejected = (tmp_path / "node.toml.rejected").read_text()
        assert "points = [0.2, 0.4, 0.8, 0.6]" in rejected
        assert "points = [0.1, 0.5, 0.9, 0.5]" in n.config_file.read_text()
        recal = n.send(n.command("recalibrate", {"source": "cam1",
                                                 "set": {"person_size": [0.05, 0.2]}}))
        assert [r["status"] for r in recal] == ["accepted", "rolled-back"]
        assert "person_size = [0.05, 0.2]" in (tmp_path / "node.toml.rejected").read_text()
        bad = n.send(n.command("recalibrate", {"source": "cam1", "set": {"device": 3}}))
        assert bad[-1]["status"] == "rejected" and "unknown keys" in bad[-1]["reason"]
        assert n.restarts == ["walkway-edge"] * 4
    finally:
        n.stop()
