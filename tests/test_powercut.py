"""Power cuts (issue 18): the filesystem that forgets unsynced writes really forgets them, and
a node (edge + bridge + store on it, real mosquitto, real collector) cut at chosen moments
loses nothing and doubles nothing. The long run is `./run bench powercut` (100 cuts)."""

import os
import sqlite3
import tempfile
from pathlib import Path

import pytest
from support import powercut
from support.lazyfs_mount import LazyMount, fuse_unavailable

from edge.store import RESERVE_BYTES, Store
from walkway.files import write_atomic


@pytest.fixture(scope="module")
def fuse_reason() -> str | None:
    with tempfile.TemporaryDirectory(prefix="walkway-fuse-probe-") as probe:
        return fuse_unavailable(Path(probe))


@pytest.fixture
def lazy(tmp_path: Path, fuse_reason: str | None):
    if fuse_reason:
        pytest.skip(fuse_reason)
    mount = LazyMount(tmp_path / "fs").mount()
    yield mount
    mount.unmount()


def _write(path: Path, data: bytes, *, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def test_unsynced_writes_and_names_are_lost_at_a_cut(lazy: LazyMount) -> None:
    mnt = lazy.mnt
    _write(mnt / "kept", b"old", sync=True)
    _write(mnt / "doomed", b"durable", sync=True)
    _write(mnt / "replaced", b"before", sync=True)
    _sync_dir(mnt)
    # After the last directory sync: data written but not synced, a name never synced,
    # an unlink and a rename never synced, and one file fully synced with its directory.
    _write(mnt / "kept", b"OLD and more", sync=False)
    _write(mnt / "synced", b"survives", sync=True)
    _sync_dir(mnt)
    _write(mnt / "nameless", b"synced data, unsynced name", sync=True)
    (mnt / "doomed").unlink()
    _write(mnt / "new", b"after", sync=True)
    os.replace(mnt / "new", mnt / "replaced")
    # Before the cut the page cache answers: everything looks written.
    assert (mnt / "kept").read_bytes() == b"OLD and more"
    assert (mnt / "replaced").read_bytes() == b"after"
    assert not (mnt / "doomed").exists()

    assert lazy.pull_plug() == 4  # creating nameless and new, the unlink, the rename
    lazy.mount()
    assert (mnt / "kept").read_bytes() == b"old"
    assert (mnt / "synced").read_bytes() == b"survives"
    assert not (mnt / "nameless").exists()
    assert (mnt / "doomed").read_bytes() == b"durable"
    assert (mnt / "replaced").read_bytes() == b"before"


def test_write_atomic_survives_a_cut_and_a_truncate_does_not(lazy: LazyMount) -> None:
    mnt = lazy.mnt
    write_atomic(mnt / "config.toml", "a = 1\n")  # fsync, rename, fsync the directory
    _write(mnt / "log", b"x" * 10000, sync=True)
    _sync_dir(mnt)
    os.truncate(mnt / "log", 10)
    _write(mnt / "log", b"y", sync=False)
    assert (mnt / "log").stat().st_size == 10
    lazy.pull_plug()
    lazy.mount()
    assert (mnt / "config.toml").read_text() == "a = 1\n"
    assert (mnt / "log").read_bytes() == b"x" * 10000


@pytest.mark.parametrize("synchronous, survives", [("FULL", True), ("OFF", False)])
def test_sqlite_commit_survives_only_when_synced(lazy: LazyMount, synchronous: str,
                                                 survives: bool) -> None:
    db = lazy.mnt / "t.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (n INTEGER)")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("INSERT INTO t VALUES (1)")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    lazy.pull_plug()  # the connection is never closed: a dead process, then the cut
    conn = None
    lazy.mount()
    with sqlite3.connect(lazy.snapshot(lazy.root / "copy") / "t.db") as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert check.execute("SELECT count(*) FROM t").fetchone()[0] == (1 if survives else 0)


def test_command_records_survive_a_cut_on_the_bridges_connection(lazy: LazyMount) -> None:
    # The bridge opens the store with durable=False (synchronous=NORMAL): its delivery
    # marks may be lost (a re-send), its record of a command may not.
    store = Store(lazy.mnt / "edge.db", node="n1", durable=False)
    store.record_command("c-1", "set-config", 100.0, 4000.0, {"status": "accepted"})
    store.update_command("c-1", {"status": "accepted", "data": {"sha256": "ab"}})
    store.set_state("bridge", {"beat": 1})  # an ordinary NORMAL write: lost at the cut
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # still NORMAL
    lazy.pull_plug()
    lazy.mount()
    copy = lazy.snapshot(lazy.root / "copy") / "edge.db"
    with sqlite3.connect(copy) as conn:
        row = conn.execute("SELECT status, result FROM commands WHERE id='c-1'").fetchone()
        beats = conn.execute("SELECT count(*) FROM node_state").fetchone()[0]
    assert row is not None and row[0] == "accepted" and '"sha256": "ab"' in row[1]
    assert beats == 0  # the filesystem did drop the unsynced write


CUTS = 12  # 3 per phase; ./run bench powercut does 100


@pytest.mark.slow
def test_power_cuts_lose_nothing(tmp_path: Path, broker, fuse_reason: str | None) -> None:
    if fuse_reason:
        pytest.skip(fuse_reason)
    # 8,000 rows (a cut uses ~100-400 of them, more on a busy machine); each cut's line is
    # printed, so a failure shows where the replay was at every cut.
    figures = powercut.run(tmp_path, broker.url, cuts=CUTS, rows=8000, seed=20261201, say=print)
    assert sum(figures.cuts.values()) == CUTS
    # Every phase was really cut in (none fell back to a timed cut).
    assert figures.cuts == {phase: CUTS // 4 for phase in powercut.PHASES}, figures.cuts
    assert figures.missing == 0 and figures.extra == 0
    assert figures.exact and figures.bins_exported == figures.bins_expected
    # The full-disk reserve is really on the disk, not an empty name (it was, before).
    assert figures.reserve_bytes == RESERVE_BYTES
    # The cuts came while the replay was running, not after it had finished.
    assert len(figures.positions) == CUTS and figures.positions[-1] < figures.input_bytes
