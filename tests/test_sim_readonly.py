"""The simulator's looks into running stores close their connections (found by the soak:
in Python 3.11 a dropped sqlite3 connection stays open until the cyclic GC runs)."""

import gc
import os
import sqlite3
from pathlib import Path

from simulator.live import _node_counts
from simulator.report import rows
from simulator.runner import _outbox_depth


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_looking_into_a_store_every_second_leaves_nothing_open(tmp_path: Path):
    db = tmp_path / "edge.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE bins (kind, source, direction, start, count, state)")
        conn.execute("INSERT INTO bins VALUES ('count', 'gate', 'pass', 60, 3, 'pending')")
    conn.close()
    gc.collect()
    gc.disable()  # what the cyclic collector would eventually close must not matter
    try:
        before = _open_fds()
        for _ in range(30):
            assert _outbox_depth(db) == 1
            assert _node_counts(db, [], 0, 120) == (0.0, 1, 0)
            assert rows(db, "SELECT count(*) AS n FROM bins") == [{"n": 1}]
        assert _open_fds() == before
    finally:
        gc.enable()
