"""The replay source: rows into batches, bad rows counted, resume from the committed offset."""

import threading
from pathlib import Path

import pytest
from support.walkway_procs import wait_for

from edge.store import Store
from sensors.base import SourceContext, SourceState
from sensors.replay.source import ReplayOptions, ReplaySource
from walkway.errors import InputFileError
from walkway.records import END_OF_TIME, Batch

CSV = """time,sensor,direction,count
2026-01-01T00:00:05Z,cam.a,in,2
2026-01-01T00:00:30Z,cam.a,out,1
not-a-time,cam.a,in,1
2026-01-01T00:01:10,cam.a,in,4
2026-01-01T00:01:20Z,Cam A,in,1
2026-01-01T00:02:00Z,cam.a,in,-3
"""


def run_source(path: Path, position: str | None, batch_rows: int = 2) -> tuple[list[Batch],
                                                                              ReplaySource]:
    source = ReplaySource("replay", ReplayOptions(path, 0.0, batch_rows),
                          SourceContext("n1", path.parent, lambda: 0.0))
    batches: list[Batch] = []
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(batches.append, stop, position))
    thread.start()
    wait_for(lambda: source.status().state == SourceState.IDLE, 30, "the end of the file")
    stop.set()
    thread.join(30)
    return batches, source


def test_rows_bad_rows_and_end_of_file(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    path.write_text(CSV)
    batches, source = run_source(path, None)
    rows = [(o.sensor, o.direction, o.count) for b in batches for o in b.observations]
    assert rows == [("cam.a", "in", 2), ("cam.a", "out", 1), ("cam.a", "in", 4)]
    assert source.status().counters == {"rows": 3, "bad_rows": 3}
    assert batches[-1].watermark == END_OF_TIME
    assert int(batches[-2].position) == path.stat().st_size


def test_resuming_from_a_committed_position_neither_loses_nor_repeats(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    path.write_text(CSV)
    store = Store(":memory:", node="n1")
    first, _ = run_source(path, None)
    store.commit_batch("replay", first[0])  # the edge was killed after its first commit
    again, _ = run_source(path, store.position("replay"))
    for batch in again:
        store.commit_batch("replay", batch)
    assert sum(b["count"] for b in store.bins()) == 2 + 1 + 4


def test_a_file_with_a_wrong_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    path.write_text("when,who,count\n")
    source = ReplaySource("replay", ReplayOptions(path), SourceContext("n1", tmp_path, float))
    with pytest.raises(InputFileError, match="header must be time,sensor,direction,count"):
        source.run(lambda b: None, threading.Event(), None)
