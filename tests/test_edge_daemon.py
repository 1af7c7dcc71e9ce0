"""The edge daemon's supervision: a source's last batch at shutdown is kept; a failing
source is restarted and reported while the node goes on."""

import threading
from pathlib import Path

from support.walkway_procs import wait_for

from edge.config import load_config
from edge.daemon import EdgeDaemon, _Worker
from edge.store import Store
from sensors.base import Batch, Observation, Source, SourceState

CONFIG = """
[node]
id = "n1"
site = "sapporo"
[store]
path = "edge.db"
[mqtt]
url = "mqtt://127.0.0.1:1"
"""


class FlushOnStop(Source):
    """Like the BLE source: emits its partial window when told to stop."""

    def run(self, emit, stop: threading.Event, position: str | None) -> None:
        stop.wait()
        emit(Batch([Observation(1_767_225_600, "ble", "estimate", 9)]))


class Crashy(Source):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.runs = 0

    def run(self, emit, stop: threading.Event, position: str | None) -> None:
        self.runs += 1
        raise OSError("device unplugged")


def start_daemon(tmp_path: Path, *sources: Source) -> tuple[list[EdgeDaemon], threading.Thread]:
    """Build and run the daemon in its own thread (SQLite objects stay in one thread)."""
    (tmp_path / "node.toml").write_text(CONFIG)
    holder: list[EdgeDaemon] = []

    def main() -> None:
        daemon = EdgeDaemon(load_config(tmp_path / "node.toml"))
        daemon.workers = [_Worker(s) for s in sources]
        holder.append(daemon)
        daemon.run()

    thread = threading.Thread(target=main)
    thread.start()
    wait_for(lambda: holder, 10, "the daemon")
    return holder, thread


def test_a_batch_emitted_while_stopping_is_committed(tmp_path: Path) -> None:
    [daemon], thread = start_daemon(tmp_path, FlushOnStop("ble"))
    wait_for(lambda: daemon.workers[0].thread is not None, 10, "the source to start")
    daemon.stop()
    thread.join(20)
    assert not thread.is_alive()
    store = Store(tmp_path / "edge.db", node="n1")
    assert [b["count"] for b in store.bins()] == [9]
    store.close()


def test_a_failing_source_is_restarted_and_reported(tmp_path: Path) -> None:
    crashy = Crashy("serial")
    [daemon], thread = start_daemon(tmp_path, crashy)
    wait_for(lambda: crashy.runs >= 2, 20, "a restart after the failure")
    wait_for(lambda: daemon.workers[0].thread is None
             or not daemon.workers[0].thread.is_alive(), 10, "the second failure")
    status = daemon.statuses()["serial"]
    daemon.stop()
    thread.join(20)
    assert status.state == SourceState.DISCONNECTED
    assert status.reason == "OSError: device unplugged"
