"""The edge store: bins, sealing, late data, the outbox protocol, the disk cap, migrations."""

import sqlite3
from pathlib import Path

import pytest

from edge.migrations import SCHEMA_VERSION
from edge.store import Store
from walkway.errors import StoreError
from walkway.records import END_OF_TIME, Batch, Measurement, Observation

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


class Clock:
    def __init__(self, now: float = 2e9) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> Store:
    s = Store(":memory:", node="n1", bin_seconds=60, grace_seconds=30, clock=Clock())
    yield s
    s.close()


def obs(t: float, n: int = 1, sensor: str = "cam", direction: str = "in") -> Observation:
    return Observation(T0 + t, sensor, direction, n)


def rows(store: Store) -> list[tuple]:
    return [(b["sensor"], b["start"] - T0, b["direction"], b["count"], b["version"], b["state"])
            for b in store.bins()]


def test_observations_land_in_utc_aligned_bins(store: Store) -> None:
    store.commit_batch("s", Batch([obs(0), obs(59, 2), obs(60), obs(61, 3, direction="out")]))
    assert rows(store) == [("cam", 0, "in", 3, 1, "open"), ("cam", 60, "in", 1, 1, "open"),
                           ("cam", 60, "out", 3, 1, "open")]


def test_bins_seal_after_grace_and_late_data_within_grace_lands(store: Store) -> None:
    store.commit_batch("s", Batch([obs(10)], watermark=T0 + 60 + 29))
    assert rows(store)[0][-1] == "open"
    store.commit_batch("s", Batch([obs(50, 4)], watermark=T0 + 90))  # within grace
    assert rows(store) == [("cam", 0, "in", 5, 1, "pending")]


def test_late_data_after_sealing_reopens_with_a_new_version(store: Store) -> None:
    store.commit_batch("s", Batch([obs(10, 2)], watermark=T0 + 200))
    [sent] = store.claim(10)
    assert store.mark_delivered([(sent.id, sent.version)]) == 1
    store.commit_batch("s", Batch([obs(20, 3)], watermark=T0 + 200))
    assert rows(store) == [("cam", 0, "in", 5, 2, "pending")]
    store.commit_batch("s", Batch([obs(20, 0)], watermark=T0 + 200))  # a zero changes nothing
    assert rows(store) == [("cam", 0, "in", 5, 2, "pending")]


def test_a_bin_changed_in_flight_is_not_marked_delivered(store: Store) -> None:
    store.commit_batch("s", Batch([obs(10)], watermark=T0 + 200))
    [sent] = store.claim(10)
    assert store.claim(10) == []  # already in flight
    store.commit_batch("s", Batch([obs(11)], watermark=T0 + 200))
    assert store.mark_delivered([(sent.id, sent.version)]) == 0
    [again] = store.claim(10)
    assert (again.count, again.version) == (2, 2)
    assert store.release() == 1 and store.stats().depth == 1


def test_position_and_watermark_are_kept_per_source(store: Store) -> None:
    store.commit_batch("a", Batch([obs(1)], position="120", watermark=T0 + 5))
    store.commit_batch("a", Batch([], position=None, watermark=T0 + 1))
    assert store.position("a") == "120" and store.watermark("a") == T0 + 5
    assert store.position("b") is None
    store.commit_batch("a", Batch([], watermark=END_OF_TIME))
    assert rows(store)[0][-1] == "pending"


def test_measurements_keep_min_mean_max(store: Store) -> None:
    ms = [Measurement(T0 + i, "wxt", "temperature_c", v) for i, v in enumerate([-3.0, 1.0, -1.0])]
    store.commit_batch("w", Batch(measurements=ms, watermark=T0 + 100))
    [b] = store.claim(5)
    assert (b.kind, b.direction, b.count, b.vmin, b.vmax, b.vsum) == (
        "measure", "temperature_c", 3, -3.0, 1.0, -3.0)


def test_resend_since_puts_delivered_bins_back(store: Store) -> None:
    store.commit_batch("s", Batch([obs(10), obs(130)], watermark=T0 + 1000))
    store.mark_delivered((b.id, b.version) for b in store.claim(10))
    assert store.stats().depth == 0
    assert store.resend_since(T0 + 120) == 1 and store.stats().depth == 1


def test_disk_cap_drops_oldest_and_counts_it(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path / "edge.db", node="n1", bin_seconds=60, max_bytes=200_000,
                  clock=clock)
    for hour in range(60):
        batch = [obs(hour * 3600 + m * 60, sensor=f"cam{k}") for m in range(60) for k in range(3)]
        store.commit_batch("s", Batch(batch, watermark=T0 + hour * 3600 + 3600))
        clock.now += 20  # let maintenance run
    stats = store.stats()
    assert stats.size_bytes <= 200_000
    assert stats.dropped_bins > 0  # nothing delivered: unsent bins were dropped, and counted
    oldest = min(b["start"] for b in store.bins())
    assert oldest > T0  # the oldest went first
    newest = max(b["start"] for b in store.bins())
    assert newest == T0 + 59 * 3600 + 59 * 60  # the newest are kept
    # An observation for a dropped bin is refused and counted, not re-created partially.
    store.commit_batch("s", Batch([obs(0, 7)]))
    assert store.stats().late_dropped == 7
    store.close()


def test_delivered_bins_go_first_under_the_cap(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path / "edge.db", node="n1", clock=clock)
    store.commit_batch("s", Batch([obs(m * 60, sensor=f"c{k}") for m in range(300)
                                   for k in range(3)], watermark=T0 + 10**6))
    store.mark_delivered((b.id, b.version) for b in store.claim(500))
    store.max_bytes = store.db_bytes()  # full now (WAL aside); 500 of 900 bins delivered
    store.commit_batch("s", Batch([obs(10**5 + m * 60) for m in range(200)]))
    clock.now += 60
    store.maintain()
    stats = store.stats()
    assert stats.dropped_bins == 0 and stats.depth == 400 and stats.open_bins == 200
    assert 0 < store.delivered_count() < 500 and stats.size_bytes <= store.max_bytes
    store.close()


def test_schema_is_versioned_and_reopening_is_safe(tmp_path: Path) -> None:
    Store(tmp_path / "edge.db", node="n1").close()
    Store(tmp_path / "edge.db", node="n1").close()
    conn = sqlite3.connect(tmp_path / "edge.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer than this software"):
        Store(tmp_path / "edge.db", node="n1")


def test_retention_never_counts_back_from_a_bin_in_the_future(tmp_path: Path) -> None:
    clock = Clock(now=T0 + 3600)
    store = Store(tmp_path / "edge.db", node="n1", keep_delivered_s=1800, clock=clock)
    store.commit_batch("s", Batch([obs(0), obs(1800)], watermark=T0 + 10_000))
    store.mark_delivered((b.id, b.version) for b in store.claim(10))
    store.commit_batch("sign", Batch([obs(10**7, sensor="signage")]))  # far in the future
    store.maintain()
    starts = sorted(b["start"] - T0 for b in store.bins() if b["sensor"] == "cam")
    assert starts == [1800]  # only what is older than 30 min by our own clock went
    store.close()
