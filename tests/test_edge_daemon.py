"""The edge daemon's supervision: a source's last batch at shutdown is kept; a failing
source is restarted and reported while the node goes on."""

import threading
from pathlib import Path

from support.edge_thread import edge_daemon_thread
from support.walkway_procs import wait_for

from edge.store import Store
from sensors.base import Source, SourceState
from walkway.records import Batch, Observation

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


def config_file(tmp_path: Path) -> Path:
    (tmp_path / "node.toml").write_text(CONFIG)
    return tmp_path / "node.toml"


def test_a_batch_emitted_while_stopping_is_committed(tmp_path: Path) -> None:
    with edge_daemon_thread(config_file(tmp_path), [FlushOnStop("ble")]) as daemon:
        wait_for(lambda: daemon.workers[0].thread is not None, 30, "the source to start")
    store = Store(tmp_path / "edge.db", node="n1")
    assert [b["count"] for b in store.bins()] == [9]
    store.close()


def test_a_failing_source_is_restarted_and_reported(tmp_path: Path) -> None:
    crashy = Crashy("serial")
    with edge_daemon_thread(config_file(tmp_path), [crashy]) as daemon:
        wait_for(lambda: crashy.runs >= 2, 30, "a restart after the failure")
        wait_for(lambda: daemon.workers[0].thread is None
                 or not daemon.workers[0].thread.is_alive(), 30, "the second failure")
        status = daemon.statuses()["serial"]
    assert status.state == SourceState.DISCONNECTED
    assert status.reason == "OSError: device unplugged"
