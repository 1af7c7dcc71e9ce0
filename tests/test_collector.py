"""The collector over a real broker: validate, upsert idempotently, ack after commit;
bad payloads are counted and logged, never stored, never fatal."""

import json
import queue
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from support.mqtt_wait import subscriber
from support.walkway_procs import run_walkway, wait_for

from cloud_bridge.collector import Collector
from cloud_bridge.collector_store import SqliteCollectorStorage
from cloud_bridge.wire import MAX_PAYLOAD_BYTES

TOPIC = "walkway/v1/sapporo/n1/counts"


def message(msg: str, count: int, version: int = 1, **extra) -> bytes:
    body = {"v": 1, "type": "counts", "msg": msg, "site": "sapporo", "node": "n1",
            "sent": "2026-01-01T00:05:00Z",
            "bins": [{"sensor": "cam.a", "start": "2026-01-01T00:00:00Z", "seconds": 60,
                      "direction": "in", "count": count, "version": version}]}
    body.update(extra)
    return json.dumps(body).encode()


@pytest.fixture
def running(broker, tmp_path: Path):
    storage = SqliteCollectorStorage(tmp_path / "cloud.db")
    collector = Collector(broker.url, storage)
    thread = threading.Thread(target=collector.run, daemon=True)
    thread.start()
    acks: queue.Queue = queue.Queue()
    node = subscriber(broker.port, "walkway/v1/sapporo/n1/ack",
                      lambda c, u, m: acks.put(json.loads(m.payload)), client_id="test-node")
    # Connected is not subscribed: wait until a probe from another node has been stored.
    probe = message("ee000000", 1).replace(b'"node": "n1"', b'"node": "probe"')

    def probe_stored() -> bool:
        node.publish("walkway/v1/sapporo/probe/counts", probe, qos=1)
        return _poll(lambda: collector.stored_messages > 0, 0.5)

    wait_for(probe_stored, 30, "the collector's subscription")
    yield collector, node, acks, tmp_path / "cloud.db"
    node.loop_stop()
    collector.stop()
    thread.join(10)


def _poll(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def send(node: mqtt.Client, payload: bytes, topic: str = TOPIC) -> None:
    node.publish(topic, payload, qos=1).wait_for_publish(30)


def stored(db: Path) -> list[tuple]:
    storage = SqliteCollectorStorage(db)
    try:
        return [(r["sensor"], r["direction"], r["count"], r["version"])
                for r in storage.counts() if r["node"] == "n1"]
    finally:
        storage.close()


def test_store_then_ack_and_redelivery_is_idempotent(running) -> None:
    collector, node, acks, db = running
    send(node, message("aa000001", 5))
    ack = acks.get(timeout=30)
    assert ack == {"v": 1, "type": "ack", "msg": "aa000001", "status": "stored", "stored": 1}
    assert stored(db) == [("cam.a", "in", 5, 1)]  # committed before the ack was sent
    send(node, message("aa000002", 5))  # the same bin again: a re-send
    assert acks.get(timeout=30)["status"] == "stored"
    assert stored(db) == [("cam.a", "in", 5, 1)]
    send(node, message("aa000003", 7, version=2))  # a late observation reopened the bin
    acks.get(timeout=30)
    send(node, message("aa000004", 5, version=1))  # an old version arriving late
    acks.get(timeout=30)
    assert stored(db) == [("cam.a", "in", 7, 2)]


@pytest.mark.parametrize(
    ("payload", "topic", "reason"),
    [
        (b"\xff\xfe garbage", TOPIC, "not UTF-8"),
        (b"{garbage", TOPIC, "not JSON"),
        (b"[1, 2]", TOPIC, "counts.v1"),
        (message("bb000001", -1), TOPIC, "counts.v1"),
        (message("bb000002", 1, v=2), TOPIC, "counts.v1"),
        (message("bb000003", 1, extra="x"), TOPIC, "counts.v1"),
        (b"{" + b" " * MAX_PAYLOAD_BYTES + b"}", TOPIC, "exceeds"),
        (message("bb000004", 1), "walkway/v1/sapporo/n2/counts", "differ from the topic"),
    ],
)
def test_bad_payloads_are_counted_not_stored_not_fatal(running, caplog, payload, topic,
                                                       reason) -> None:
    collector, node, acks, db = running
    send(node, payload, topic)
    wait_for(lambda: any(reason in r.getMessage() for r in caplog.records), 30,
             f"a log line saying {reason!r}")
    assert collector.invalid == 1
    assert stored(db) == []
    send(node, message("cc000001", 3))  # the collector is still alive and storing
    assert acks.get(timeout=30)["msg"] == "cc000001"
    assert stored(db) == [("cam.a", "in", 3, 1)]
    check = SqliteCollectorStorage(db)
    assert check.counter("invalid_payloads") == 1
    check.close()


def test_export_formats(tmp_path: Path) -> None:
    storage = SqliteCollectorStorage(tmp_path / "cloud.db")
    storage.upsert(json.loads(message("dd000001", 4)), 0.0)
    storage.commit()
    storage.close()
    out = run_walkway("collector", "export", "--db", str(tmp_path / "cloud.db")).stdout
    assert out == ("site,node,place,sensor,direction,figure,start,start_local,seconds,count\n"
                   "sapporo,n1,,cam.a,in,people,2026-01-01T00:00:00Z,2026-01-01T09:00:00+09:00,"
                   "60,4\n")
    as_json = run_walkway("collector", "export", "--db", str(tmp_path / "cloud.db"),
                          "--format", "json").stdout
    assert json.loads(as_json) == [{"site": "sapporo", "node": "n1", "place": "",
                                    "sensor": "cam.a", "direction": "in", "figure": "people",
                                    "start": "2026-01-01T00:00:00Z",
                                    "start_local": "2026-01-01T09:00:00+09:00", "seconds": 60,
                                    "count": 4}]
    missing = run_walkway("collector", "export", "--db", str(tmp_path / "x.db"), check=False)
    assert missing.returncode == 2 and "x.db: no such collector database" in missing.stderr
