"""Issue 18 items 1 and 10: poison counts/health/result messages go through the collector's
invalid-payload path (counted, logged, never stored, never fatal), and a retained poison
message does not survive a collector restart, even across a broker restart."""

import json
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from support.mosquitto import Mosquitto
from support.walkway_procs import wait_for

from cloud_bridge.collector import Collector
from cloud_bridge.collector_store import SqliteCollectorStorage
from cloud_bridge.wire import InvalidPayload, Schemas

TOPIC = "walkway/v1/sapporo/n1/counts"


def counts(start: str = "2026-01-01T00:00:00Z", version: object = 1, count: object = 3,
           sent: str = "2026-01-01T00:05:00Z", **extra: object) -> dict:
    body = {"v": 1, "type": "counts", "msg": "ab000001", "site": "sapporo", "node": "n1",
            "sent": sent,
            "bins": [{"sensor": "cam.a", "start": start, "seconds": 60, "direction": "in",
                      "count": count, "version": version}]}
    body.update(extra)
    return body


def raw(body: dict) -> bytes:
    return json.dumps(body).encode()


def measures(value: str) -> bytes:
    text = raw(counts(measures=[{"sensor": "t", "start": "2026-01-01T00:00:00Z",
                                 "seconds": 60, "quantity": "temp", "n": 1, "min": 0.0,
                                 "mean": 0.0, "max": 0.0, "version": 1}]))
    return text.replace(b'"max": 0.0', b'"max": ' + value.encode())


POISON = {
    "month 13": raw(counts(start="2026-13-45T00:00:00Z")),
    "hour 25": raw(counts(start="2026-01-01T25:00:00Z")),
    "feb 30": raw(counts(start="2026-02-30T00:00:00Z")),
    "year 0000": raw(counts(start="0000-01-01T00:00:00Z")),
    "bad sent": raw(counts(sent="2026-02-30T00:00:00Z")),
    "version 2^64": raw(counts(version=2**64)),
    "version 2^63-1": raw(counts(version=2**63 - 1)),
    "5000-digit count": raw(counts()).replace(b'"count": 3', b'"count": ' + b"9" * 5000),
    "deep nesting": b'{"v":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "deep but parseable": raw(counts(extra=json.loads("[" * 200 + "]" * 200))),
    "NaN": measures("NaN"),
    "Infinity": measures("Infinity"),
    "1e400": measures("1e400"),
    "huge int mean": measures("1" + "0" * 30),
    "utf-16": json.dumps(counts()).encode("utf-16"),
    "utf-8 BOM": b"\xef\xbb\xbf" + raw(counts()),
    "utf-32": json.dumps(counts()).encode("utf-32"),
}


@pytest.mark.parametrize("name", sorted(POISON))
def test_poison_is_invalid_payload(name: str) -> None:
    with pytest.raises(InvalidPayload):
        Schemas().decode("counts.v1", POISON[name])


def test_the_largest_version_still_leaves_room_to_correct() -> None:
    top = Schemas().decode("counts.v1", raw(counts(version=2**32 - 1)))
    assert top["bins"][0]["version"] + 1 < 2**63 - 1  # SQLite int64 can hold the next one


def test_health_and_result_with_impossible_times_are_invalid() -> None:
    schemas = Schemas()
    result = {"v": 1, "type": "cmd-result", "id": "x", "site": "sapporo", "node": "n1",
              "command": "ping", "status": "ok", "at": "2026-02-30T00:00:00Z"}
    with pytest.raises(InvalidPayload, match="not a real date"):
        schemas.decode("cmd-result.v1", raw(result))


def offline_collector(tmp_path: Path) -> Collector:
    # Never connects (nothing listens on port 9): flush() runs the real decode/store path.
    return Collector("mqtt://127.0.0.1:9", SqliteCollectorStorage(tmp_path / "cloud.db"))


def test_every_poison_is_counted_and_nothing_stored(tmp_path: Path, caplog) -> None:
    collector = offline_collector(tmp_path)
    leaves = ("counts", "health", "cmd/result")
    for payload in POISON.values():
        for leaf in leaves:
            collector.inbox.append((f"walkway/v1/sapporo/n1/{leaf}", payload))
    collector.flush()
    assert collector.invalid == len(POISON) * len(leaves)
    assert list(collector.storage.counts()) == []
    assert collector.storage.counter("invalid_payloads") == len(POISON) * len(leaves)
    assert any("not a real date" in r.getMessage() for r in caplog.records)
    collector.inbox.append((TOPIC, raw(counts())))  # still alive and storing
    collector.flush()
    assert [r["count"] for r in collector.storage.counts()] == [3]
    collector.storage.close()


def _client(port: int, client_id: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def _retained(port: int, topic: str) -> list[bytes]:
    """Retained messages a fresh subscriber gets on `topic` (waits for its SUBACK)."""
    got: list[bytes] = []
    subscribed = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.on_message = lambda cl, u, m: got.append(m.payload)
    c.on_subscribe = lambda *a: subscribed.set()
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.subscribe(topic, qos=1)
    subscribed.wait(5)
    c.publish("probe/done", b"x", qos=1).wait_for_publish(5)  # a round trip after the SUBACK
    c.loop_stop()
    c.disconnect()
    return got


def _run(collector: Collector) -> threading.Thread:
    thread = threading.Thread(target=collector.run, daemon=True)
    thread.start()
    return thread


def test_retained_poison_does_not_survive_a_restart(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")
    # As root, mosquitto saves as user mosquitto, who cannot enter pytest's private tmp_path.
    persist = f"persistence true\npersistence_location {broker.workdir}/\nuser root"
    conf = broker.conf.read_text().replace("persistence false", persist)
    broker.conf.write_text(conf)
    broker.start()
    try:
        node = _client(broker.port, "poisoner")
        node.publish(TOPIC, POISON["month 13"], qos=1, retain=True).wait_for_publish(5)
        node.publish("walkway/v1/sapporo/n1/health", POISON["deep nesting"], qos=1,
                     retain=True).wait_for_publish(5)
        node.loop_stop()
        node.disconnect()
        broker.restart()  # the retained poison is persisted: it is there after a restart
        assert _retained(broker.port, TOPIC) == [POISON["month 13"]]

        first = Collector(broker.url, SqliteCollectorStorage(tmp_path / "cloud.db"))
        thread = _run(first)
        wait_for(lambda: first.cleared_retained == 2, 20, "the collector to clear both")
        assert thread.is_alive() and first.invalid == 2
        first.stop()
        thread.join(10)

        broker.restart()
        assert _retained(broker.port, TOPIC) == []
        assert _retained(broker.port, "walkway/v1/sapporo/n1/health") == []
        second = Collector(broker.url, SqliteCollectorStorage(tmp_path / "cloud.db"))
        thread = _run(second)
        probe = _client(broker.port, "prober")

        def probe_stored() -> bool:  # subscribed is not connected: probe until one is stored
            probe.publish(TOPIC, raw(counts()), qos=1).wait_for_publish(5)
            return second.stored_messages > 0

        wait_for(probe_stored, 20, "the second collector's subscription")
        assert second.invalid == 0
        second.stop()
        thread.join(10)
        probe.loop_stop()
        check = SqliteCollectorStorage(tmp_path / "cloud.db")
        assert check.counter("invalid_payloads") == 2
        assert check.counter("cleared_retained") == 2
        check.close()
    finally:
        broker.stop()
