"""Memory bounds the soak found (issue 18, docs/operations.md "Memory"): the bridge's and the
edge's periodic store reads do not grow with the store's history, every SQLite connection
caps its page cache, and the edge's frame-sized buffers go back to the kernel when freed.

SQLite's own allocations are read with sqlite3_memory_used() from the library Python's
sqlite3 module uses (process-wide; these tests run nothing else meanwhile)."""

import ctypes
import sqlite3
from pathlib import Path

import pytest

from cloud_bridge.collector_store import SqliteCollectorStorage
from edge.health import outbox
from edge.store import Store
from walkway.memory import SQLITE_CACHE_KIB
from walkway.records import Batch, Observation

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
HISTORY = 40_000  # delivered bins: ~4 MB of table, twice SQLite's default 2 MB cache
PERIODIC_BOUND = 256 * 1024  # what one periodic round may add to SQLite's memory


def _sqlite_memory() -> int:
    lib = ctypes.CDLL("libsqlite3.so.0")
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return int(lib.sqlite3_memory_used())


@pytest.fixture(scope="module")
def long_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store after weeks of delivery: HISTORY delivered bins, a small outbox, open bins."""
    path = tmp_path_factory.mktemp("history") / "edge.db"
    Store(path, node="n1").close()  # the real schema, every migration
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO bins(node, sensor, start, seconds, kind, direction, source, count,"
            " state, updated_at, sealed_at, delivered_at) VALUES"
            " ('n1', ?, ?, 60, 'count', 'in', 'gate', 3, ?, 1, 1, ?)",
            [(f"s{i % 7}", T0 + 60 * (i // 7), "delivered" if i < HISTORY else "pending",
              1 if i < HISTORY else None) for i in range(HISTORY + 50)])
    conn.close()
    assert path.stat().st_size > 3 * 2**20
    return path


def _bridge_store(path: Path) -> Store:
    return Store(path, node="n1", durable=False, clock=lambda: T0 + 86400 * 30)


def test_health_over_a_long_history_reads_only_the_outbox(long_history: Path) -> None:
    store = _bridge_store(long_history)
    try:
        before = _sqlite_memory()
        for _ in range(3):  # what the bridge does each health period and each reconnect
            report = outbox(store, store.clock())
            store.release()
        grew = _sqlite_memory() - before
        assert report["outbox_depth"] == 50 and report["open_bins"] == 0
        # The old reads (count by state, oldest unsent) walked all 4 MB of table: the page
        # cache filled to its cap.
        assert grew < PERIODIC_BOUND, f"health read {grew} bytes of pages"
        assert store.delivered_count() == HISTORY  # the crew's question still answered
    finally:
        store.close()


def test_an_edge_batch_and_its_maintenance_do_not_walk_the_history(long_history: Path,
                                                                   tmp_path: Path) -> None:
    copy = tmp_path / "edge.db"
    copy.write_bytes(long_history.read_bytes())
    clock = [T0 + 86400 * 30.0]
    # All of the history is within retention (the soak's stores keep everything).
    store = Store(copy, node="n1", clock=lambda: clock[0], keep_delivered_s=3e8)
    try:
        before = _sqlite_memory()
        for minute in range(5):
            clock[0] += 20
            t = T0 + 60 * (HISTORY // 7 + 10 + minute)
            store.commit_batch("gate", Batch([Observation(t, "s1", "in", 2)], watermark=t))
            store.maintain()  # under the cap: prune past retention, no count of every bin
        grew = _sqlite_memory() - before
        assert grew < PERIODIC_BOUND, f"ingest and maintenance read {grew} bytes of pages"
    finally:
        store.close()


def test_every_connection_caps_its_page_cache(long_history: Path, tmp_path: Path) -> None:
    store = _bridge_store(long_history)
    try:
        before = _sqlite_memory()
        assert len(store.bins()) == HISTORY + 50  # reads every page of the table
        grew = _sqlite_memory() - before
        # SQLite's default would hold 2 MB of it; the declared bound holds SQLITE_CACHE_KIB.
        assert grew < 1.25 * SQLITE_CACHE_KIB * 1024, grew
    finally:
        store.close()
    collector = SqliteCollectorStorage(tmp_path / "cloud.db")
    try:
        size = collector.conn.execute("PRAGMA cache_size").fetchone()[0]
        assert size == -SQLITE_CACHE_KIB
    finally:
        collector.close()


CHILD = """
import ctypes, sys
from pathlib import Path
from walkway.memory import pin_mmap_threshold

def anon():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024

pinned = sys.argv[1] == "pin" and pin_mmap_threshold()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(4 << 20))  # one big buffer freed: glibc raises its threshold to 4 MB
frame = 900 * 1024  # a 640x480 BGR frame
frames, keep = [], []
for _ in range(24):
    p = libc.malloc(frame)
    ctypes.memset(p, 1, frame)
    frames.append(p)
    keep.append(libc.malloc(32 * 1024))  # long-lived, allocated meanwhile (from the top)
held = anon()
for p in frames:
    libc.free(p)
print(pinned, held - anon())
"""


def _frames_given_back(mode: str) -> tuple[bool, int]:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", CHILD, mode], check=True, capture_output=True,
                         text=True, timeout=60).stdout.split()
    return out[0] == "True", int(out[1])


def test_a_pinned_mmap_threshold_gives_freed_frames_back() -> None:
    """What the camera edge's arenas kept: once one big buffer was freed, glibc served frames
    from the heap, where freed ones stay resident behind live blocks. With the threshold
    pinned (the edge daemon's start) each frame is its own mapping, unmapped at free()."""
    pinned, given_back = _frames_given_back("pin")
    if not pinned:
        pytest.skip("no glibc mallopt here")
    assert given_back > 20 * 900 * 1024, f"freeing 24 frames gave back {given_back} bytes"
    _, default = _frames_given_back("default")
    assert default < 4 * 900 * 1024, f"glibc's default gave back {default} bytes"


def test_the_collector_prepares_the_same_statements_batch_after_batch(tmp_path: Path) -> None:
    """A measure's receive time was written into the UPDATE's text: every batch a new
    prepared statement (about 6 KB each, 128 kept per connection) and the heap churned."""
    from walkway.timeutil import iso_z

    storage = SqliteCollectorStorage(tmp_path / "cloud.db")

    def batch(k: int) -> None:
        storage.upsert({"site": "s", "node": "n", "bins": [
            {"sensor": "gate", "start": iso_z(T0 + 60 * k), "seconds": 60, "direction": "in",
             "count": 3, "version": 1}], "measures": [
            {"sensor": "weather", "start": iso_z(T0 + 60 * k), "seconds": 60,
             "quantity": "temperature_c", "n": 2, "min": -3.0, "mean": -2.5, "max": -2.0,
             "version": 1}]}, T0 + 60 * k + 0.123 * k)
        storage.commit()

    try:
        for k in range(20):
            batch(k)
        before = _sqlite_memory()
        for k in range(20, 140):
            batch(k)
        grew = _sqlite_memory() - before
        assert grew < 200 * 1024, f"120 batches added {grew} bytes to SQLite"
    finally:
        storage.close()


def test_acks_of_every_size_use_one_statement(long_history: Path, tmp_path: Path) -> None:
    """Each ack size was a statement text of its own (137 KB prepared for 300 pairs, 128 of
    them kept): the bridge's SQLite memory grew with every new size a backlog brought."""
    copy = tmp_path / "edge.db"
    copy.write_bytes(long_history.read_bytes())
    store = _bridge_store(copy)
    try:
        claimed = store.claim(50)
        store.mark_delivered([(b.id, b.version) for b in claimed[:1]])
        before = _sqlite_memory()
        for size in range(2, 51):
            store.mark_delivered([(b.id, b.version) for b in claimed[:size]])
        grew = _sqlite_memory() - before
        assert grew < 100 * 1024, f"49 ack sizes added {grew} bytes to SQLite"
        assert store.stats().depth == 0  # all 50 claimed were marked, none left pending
    finally:
        store.close()
