"""Neighbours' flows: the collector publishes each site's recent flows (retained); a node's
bridge writes them to its sign's neighbours file, which the signage player reads."""

import json
import threading
import time
from pathlib import Path

from support.walkway_procs import WalkwayProcess, wait_for

from cloud_bridge.collector import Collector
from cloud_bridge.collector_store import SqliteCollectorStorage

T0 = 1_767_225_600


def counts(node: str, bins: list[tuple[int, str, int]]) -> dict:
    return {"v": 1, "type": "counts", "msg": "ab" * 8, "site": "sapporo", "node": node,
            "sent": "2026-01-01T00:05:00Z",
            "bins": [{"sensor": "cam1.main", "start": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + offset)), "seconds": 60,
                "direction": direction, "count": n, "version": 1}
                for offset, direction, n in bins]}


def test_a_sign_learns_its_neighbours_flows(tmp_path: Path, broker) -> None:
    storage = SqliteCollectorStorage(tmp_path / "cloud.db")
    now = time.time()
    storage.upsert(counts("aurora-n1", [(0, "in", 20), (0, "out", 10), (60, "in", 50),
                                        (-3600, "in", 999)]), now)  # an old bin: outside
    storage.upsert(counts("pole-n3", [(0, "in", 7)]), now)
    storage.commit()
    collector = Collector(broker.url, storage, flows_every_s=0.2)
    thread = threading.Thread(target=collector.run, daemon=True)
    thread.start()
    (tmp_path / "node.toml").write_text(f"""
[node]
id = "chikaho-n1"
site = "sapporo"
[store]
path = "edge.db"
[mqtt]
url = "{broker.url}"
[signage]
state_dir = "sign"
""")
    bridge = WalkwayProcess(["bridge", "run", "--config", str(tmp_path / "node.toml")],
                            tmp_path / "bridge.log").start()
    target = tmp_path / "sign" / "neighbours.json"
    try:
        wait_for(target.exists, 30, "the neighbours file")
        body = json.loads(target.read_text())
        # aurora: 80 people over the two minutes its newest bins cover; pole: 7 in one minute.
        assert body["counts"] == {"aurora-n1/cam1.main": 40.0, "pole-n3/cam1.main": 7.0}
        assert abs(body["updated_at"] - time.time()) < 30
    finally:
        bridge.terminate()
        collector.stop()
        thread.join(10)
