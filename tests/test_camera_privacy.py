"""Privacy by design: counting a video and running the camera source write no image file and
put no pixels into the store, the logs or MQTT. Only counts leave the counter."""

import json
import logging
import queue
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
from support.edge_thread import edge_daemon_thread
from support.mqtt_wait import subscriber
from support.walkway_procs import wait_for as wait_until

from sensors.base import SourceState
from walkway.cli import main

VIDEO = Path(__file__).resolve().parent / "data" / "video" / "TUD-Campus.mp4"
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"BM", b"P5", b"P6", b"GIF8", b"II*\x00",
               b"MM\x00*", b"RIFF", b"\x00\x00\x00\x0cjP")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".gif", ".tif", ".tiff",
                  ".webp", ".jp2", ".npy", ".npz", ".mp4", ".avi", ".mkv"}




def snapshot(root: Path) -> dict[Path, tuple[int, int]]:
    """Files under the sandbox's cwd, temp folder and node folder (not the test broker's)."""
    files = [p for d in ("cwd", "tmp", "node") for p in (root / d).rglob("*") if p.is_file()]
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


def looks_like_an_image(path: Path) -> bool:
    head = path.read_bytes()[:16]
    return path.suffix.lower() in IMAGE_SUFFIXES or head.startswith(IMAGE_MAGIC)


def node_toml(folder: Path, broker_url: str) -> Path:
    config = folder / "node.toml"
    config.write_text(f"""
[node]
id = "privacy-n1"
site = "sapporo"
[store]
path = "{folder / 'store.db'}"
[mqtt]
url = "{broker_url}"
[[sources]]
type = "camera"
name = "cam"
device = "{VIDEO}"
[[sources.lines]]
name = "door"
points = [0.5, 0.0, 0.5, 1.0]
""")
    return config


def run_daemon(config: Path) -> None:
    with edge_daemon_thread(config) as daemon:
        wait_until(lambda: daemon.statuses()["cam"].state == SourceState.IDLE,
                   60, "the camera source to finish the video")


def store_values(path: Path) -> list[object]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [v for t in tables for row in conn.execute(f"SELECT * FROM {t}") for v in row]
    finally:
        conn.close()


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd and the temp folder inside tmp_path, so every file written lands where we look."""
    (tmp_path / "cwd").mkdir()
    (tmp_path / "tmp").mkdir()
    (tmp_path / "node").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path


def test_counting_writes_no_image_and_stores_only_counts(sandbox, broker, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    config = node_toml(sandbox / "node", broker.url)
    before = snapshot(sandbox)

    assert main(["count-video", str(VIDEO), "--line", "0.5,0,0.5,1", "--json"]) == 0
    printed = capsys.readouterr().out
    assert len(printed) < 500 and json.loads(printed)["frames"] == 71
    run_daemon(config)

    changed = {p for p, st in snapshot(sandbox).items() if before.get(p) != st}
    assert {p.name for p in changed} <= {"store.db", "store.db-wal", "store.db-shm",
                                         "store.db-reserve"}
    assert not [p for p in changed if looks_like_an_image(p)]
    # The full-disk reserve (docs/edge.md) is zeros: room set aside, nothing written in it.
    reserve = sandbox / "node" / "store.db-reserve"
    assert not reserve.exists() or not reserve.read_bytes().strip(b"\0")

    values = store_values(sandbox / "node" / "store.db")
    assert not [v for v in values if isinstance(v, bytes | bytearray | memoryview)]
    assert max(len(v) for v in values if isinstance(v, str)) < 1000
    assert "cam.door" in values  # the counts are there, and nothing but counts
    for record in caplog.records:
        message = record.getMessage()
        assert len(message) < 500 and "array(" not in message, message

    got: queue.Queue[tuple[str, bytes]] = queue.Queue()
    watcher = subscriber(broker.port, "#", lambda c, u, m: got.put((m.topic, m.payload)),
                         client_id="privacy-watch")
    bridge = _start_bridge(config, sandbox)
    payloads: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(b"cam.door" in p for p in payloads):
            try:
                payloads.append(got.get(timeout=0.5)[1])
            except queue.Empty:
                continue
    finally:
        bridge.terminate()
        watcher.loop_stop()
    assert any(b"cam.door" in p for p in payloads), "the counts never reached MQTT"
    for payload in payloads:
        assert len(payload) < 64 * 1024 and not payload.startswith(IMAGE_MAGIC)
        json.loads(payload)  # every message is JSON text: counts and status, no pixels


def _start_bridge(config: Path, sandbox: Path):
    from support.walkway_procs import WalkwayProcess

    return WalkwayProcess(["bridge", "run", "--config", str(config)],
                          sandbox / "node" / "bridge.log").start()
