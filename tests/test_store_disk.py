"""The edge store on a full disk (a real 256 KB tmpfs) and on a store it cannot open
(read-only filesystem, missing directory, another user's files): the crew is told the cause
and the fix, the edge keeps counting the newest data, and status/selftest tell the truth."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.walkway_procs import ROOT, WalkwayProcess, run_walkway, wait_for

from edge.store import Store
from walkway.errors import StoreError
from walkway.records import Batch, Observation

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def _mount_tmpfs(where: Path, options: str) -> Path:
    where.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    return where


@pytest.fixture
def small_disk(tmp_path: Path):
    disk = _mount_tmpfs(tmp_path / "disk", "size=256k")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False, timeout=10)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk` with a file of our own."""
    try:
        with (disk / "filler").open("wb") as f:
            while True:
                f.write(bytes(4096))
                f.flush()
    except OSError:
        pass  # ENOSPC: full
    assert shutil.disk_usage(disk).free == 0


def test_store_on_a_full_disk_prunes_oldest_and_keeps_the_newest(small_disk: Path) -> None:
    now = [T0]
    store = Store(small_disk / "edge.db", node="n1", clock=lambda: now[0])
    failed = 0
    for minute in range(1500):
        now[0] = T0 + minute * 60 + 61
        batch = Batch([Observation(T0 + minute * 60 + i, f"cam{i}", "in", 1) for i in range(8)],
                      position=str(minute), watermark=now[0])
        try:
            store.commit_batch("src", batch)
        except StoreError as exc:
            # What the edge retries once a second; never the masking "cannot rollback".
            assert str(exc).startswith(f"disk full: {small_disk / 'edge.db'}: "), exc
            assert "KB free of 256 KB" in str(exc)
            failed += 1
    assert shutil.disk_usage(small_disk).total == 256 * 1024
    stats = store.stats()
    assert stats.dropped_bins > 0, "nothing was pruned on SQLITE_FULL"
    assert failed < 1500 // 4, f"{failed} of 1500 commits failed: pruning does not make room"
    newest = max(b["start"] for b in store.bins())
    assert newest == T0 + 1499 * 60  # the newest minute is kept, the oldest are dropped
    assert store.position("src") == "1499"
    store.close()


def _node(root: Path, store: Path, rows: int = 6000) -> Path:
    lines = [f"2026-01-01T{(i // 240) // 60:02d}:{(i // 240) % 60:02d}:{(i % 60):02d}Z,"
             f"cam{(i // 60) % 4},in,1" for i in range(rows)]
    (root / "counts.csv").write_text("time,sensor,direction,count\n" + "\n".join(lines) + "\n")
    config = root / "node.toml"
    config.write_text(f"""[node]
id = "n1"
site = "s1"
[store]
path = "{store}"
[mqtt]
url = "mqtt://127.0.0.1:1"
[health]
stale_after_s = 3
[[sources]]
type = "replay"
name = "replay"
path = "counts.csv"
batch_rows = 10
""")
    return config


def _status(config: Path) -> dict:
    return json.loads(run_walkway("status", "--config", str(config), "--json").stdout)


def test_edge_on_a_full_disk_says_so_prunes_and_status_tells_the_truth(
        tmp_path: Path, small_disk: Path) -> None:
    config = _node(tmp_path, small_disk / "edge.db")
    log = tmp_path / "edge.log"
    edge = WalkwayProcess(["edge", "run", "--config", str(config)], log).start()
    try:
        wait_for(lambda: "disk full" in log.read_text(), 60, "the edge to hit the full disk")
        wait_for(lambda: _status(config)["sources"][0]["state"] == "idle", 90,
                 "the replay to finish on the full disk")
        text = log.read_text()
        assert "cannot rollback" not in text, text[-2000:]
        assert f"disk full: {small_disk / 'edge.db'}: " in text and "KB free of 256 KB" in text
        assert "oldest bins to make room" in text
        status = _status(config)
        assert status["store"]["dropped_bins"] > 0
        assert status["edge"]["state"] == "up", status["edge"]
        # A process that runs but cannot write its heartbeat is not "down".
        edge.proc.send_signal(signal.SIGSTOP)
        try:
            stuck = wait_for(lambda: (s := _status(config))["edge"]["state"] != "up" and s,
                             20, "the heartbeat to go stale")
            assert stuck["edge"]["state"] == "stuck"
            assert f"process {edge.proc.pid} is running" in stuck["edge"]["reason"]
            people = run_walkway("status", "--config", str(config)).stdout
            assert "edge:    stuck" in people and "disk full?" in people
            result = run_walkway("selftest", "--config", str(config), check=False)
            assert "FAIL edge" in result.stdout and "is running but" in result.stdout
            assert "not running" not in result.stdout
        finally:
            edge.proc.send_signal(signal.SIGCONT)
    finally:
        edge.terminate()
    # With the disk taken by someone else, selftest must not say the store is writable.
    fill(small_disk)
    result = run_walkway("selftest", "--config", str(config), check=False)
    assert "PASS store" not in result.stdout, result.stdout
    assert re.search(rf"^FAIL store .*disk full: {small_disk / 'edge.db'}: 0 KB free",
                     result.stdout, re.M), result.stdout
    # Every other check still ran (item 10: selftest does not stop at the first failure).
    assert re.search(r"^FAIL disk ", result.stdout, re.M)
    assert re.search(r"^FAIL broker ", result.stdout, re.M)


@pytest.fixture
def read_only_disk(tmp_path: Path):
    disk = _mount_tmpfs(tmp_path / "ro", "size=256k")
    Store(disk / "edge.db", node="n1").close()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, timeout=10)
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False, timeout=10)


def test_read_only_store_names_the_cause_and_the_fix(read_only_disk: Path) -> None:
    with pytest.raises(StoreError) as err:
        Store(read_only_disk / "edge.db", node="n1")
    assert "read-only filesystem" in str(err.value) and "remount it read-write" in str(err.value)


def test_missing_store_directory_names_the_cause_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "edge.db"
    with pytest.raises(StoreError) as err:
        Store(path, node="n1")
    assert f"directory {path.parent} does not exist: create it (mkdir -p {path.parent})" \
        in str(err.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a child as another user")
def test_store_owned_by_another_user_names_the_cause_and_the_fix(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    Store(store_dir / "edge.db", node="n1").close()
    # The child runs this checkout's Python as nobody: a checkout in root's own home (0700,
    # e.g. a clone in ~) cannot be entered by nobody at all, so there is nothing to test.
    for parent in Path(sys.executable).parents:
        if parent.is_dir() and not parent.stat().st_mode & 0o001:
            pytest.skip(f"{parent} is not enterable by other users: nobody cannot run Python")
    code = ("import sys; from edge.store import Store\n"
            "from walkway.errors import StoreError\n"
            "try:\n    Store(sys.argv[1], node='n1')\n"
            "except StoreError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code, str(store_dir / "edge.db")], cwd=ROOT,
                          capture_output=True, text=True, user="nobody", timeout=30,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    # tmp_path's parents are root's own (0700): the cause is a directory on the way.
    assert re.search(r"permission denied on \S+ for user nobody: ", done.stdout), \
        done.stdout + done.stderr
    assert "or run as the store's owner" in done.stdout
