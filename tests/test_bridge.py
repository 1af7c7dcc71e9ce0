"""The bridge's MQTT link: retained birth and last will, loud callback failures."""

import json
import queue
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from support.mqtt_wait import subscriber
from support.walkway_procs import WalkwayProcess, wait_for

from cloud_bridge.mqtt_link import LinkFault, MqttLink

CONFIG = """
[node]
id = "odori-n2"
site = "sapporo"
[store]
path = "edge.db"
[mqtt]
url = "{url}"
keepalive_s = 5
"""


def watcher(port: int, topic: str) -> tuple[mqtt.Client, queue.Queue]:
    got: queue.Queue = queue.Queue()
    client = subscriber(port, topic, lambda c, u, m: got.put((json.loads(m.payload), m.retain)))
    return client, got


def test_online_birth_and_offline_will_on_power_cut(tmp_path: Path, broker) -> None:
    (tmp_path / "node.toml").write_text(CONFIG.format(url=broker.url))
    bridge = WalkwayProcess(["bridge", "run", "--config", str(tmp_path / "node.toml")],
                            tmp_path / "bridge.log").start()
    client, got = watcher(broker.port, "walkway/v1/sapporo/odori-n2/status")
    try:
        status, _ = got.get(timeout=30)
        if status["state"] != "online":  # a will left over from an earlier session
            status, _ = got.get(timeout=30)
        assert status["state"] == "online" and status["node"] == "odori-n2"
        bridge.kill9()
        status, _ = got.get(timeout=30)
        assert status["state"] == "offline"
        # Retained: a newcomer learns the node is offline without waiting.
        late, late_got = watcher(broker.port, "walkway/v1/sapporo/odori-n2/status")
        state, retained = late_got.get(timeout=30)
        assert state["state"] == "offline" and retained
        late.loop_stop()
    finally:
        client.loop_stop()
        bridge.kill9()


def test_a_failing_callback_is_raised_not_swallowed(broker) -> None:
    def explode(topic: str, payload: bytes) -> None:
        raise KeyError("boom")

    link = MqttLink(host="127.0.0.1", port=broker.port, client_id="t-fail",
                    on_connected=lambda lk: lk.subscribe("t/x"), on_message=explode)
    wait_for(lambda: link.poll(0.05) or link.connected, 30, "connected")
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="t-pub", protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    wait_for(lambda: link.poll(0.05) or "t/x" in link.subscribed, 30, "the SUBACK for t/x")
    pub.publish("t/x", b"1", qos=1).wait_for_publish(30)
    with pytest.raises(LinkFault, match="boom"):
        wait_for(lambda: link.poll(0.05), 30, "the callback's fault raised from poll()")
    pub.loop_stop()
    link.close()


def test_subscribed_means_acknowledged_and_is_renewed_after_a_reconnect(broker) -> None:
    link = MqttLink(host="127.0.0.1", port=broker.port, client_id="t-sub",
                    on_connected=lambda lk: lk.subscribe("t/ready"), backoff_max_s=0.5)
    wait_for(lambda: link.poll(0.05) or "t/ready" in link.subscribed, 30, "the first SUBACK")
    assert link.connects == 1
    broker.restart()  # same port; the old connection (and its subscription) is gone
    wait_for(lambda: link.poll(0.05) or not link.connected, 30, "the disconnect")
    assert link.subscribed == set()
    wait_for(lambda: link.poll(0.05) or "t/ready" in link.subscribed, 30, "the SUBACK again")
    assert link.connects == 2
    link.close()
