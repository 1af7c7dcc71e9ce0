"""Uplink and collector throughput against raw paho, on the same broker in the same run.

uplink:    bins/s and messages/s the bridge gets acknowledged by a real collector process,
           vs raw paho QoS 1 publishing of the same payloads (PUBACK only).
collector: bins/s the collector validates, stores and acknowledges, vs a raw paho
           subscriber's receive rate of the same published messages.
"""

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cloud_bridge.bridge import Bridge
from cloud_bridge.collector import Collector
from cloud_bridge.collector_store import SqliteCollectorStorage
from cloud_bridge.wire import counts_message
from edge.config import load_config
from edge.store import Store
from walkway.local_broker import Mosquitto
from walkway.records import END_OF_TIME, Batch, Observation

# (messages, bins per message): the bridge's default batch, and small messages where MQTT's
# per-message cost dominates.
SHAPES = ((300, 200), (2000, 20))
T0 = 1_767_225_600
TOPIC = "walkway/v1/sapporo/bench-n1/counts"


def make_config(work: Path, url: str, bins_per_message: int) -> Path:
    path = work / "node.toml"
    path.write_text(f"""
[node]
id = "bench-n1"
site = "sapporo"
[store]
path = "edge.db"
[mqtt]
url = "{url}"
batch_bins = {bins_per_message}
""")
    return path


def fill_outbox(config_path: Path, messages: int, per_message: int) -> tuple[int, list[bytes]]:
    config = load_config(config_path)
    store = Store.from_config(config)
    total = messages * per_message
    obs = [Observation(T0 + 60 * (i // 4), f"cam{i % 2}", ("in", "out")[(i // 2) % 2], 1 + i % 7)
           for i in range(total)]
    store.commit_batch("bench", Batch(obs, watermark=END_OF_TIME))
    assert store.stats().depth == total
    payloads = [counts_message("sapporo", "bench-n1", store.claim(per_message), time.time())[1]
                for _ in range(messages)]
    store.release()
    store.close()
    return total, payloads


def client(name: str) -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)


def raw_publish(port: int, payloads: list[bytes]) -> float:
    pub = client("raw-pub")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    start = time.perf_counter()
    infos = [pub.publish(TOPIC, p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(60)
    elapsed = time.perf_counter() - start
    pub.loop_stop()
    pub.disconnect()
    return elapsed


def bridge_delivery(config_path: Path, total: int) -> float:
    bridge = Bridge(load_config(config_path))
    start = time.perf_counter()
    while bridge.delivered_bins < total:  # delivered = acknowledged by the collector
        bridge.step(0.01)
        if time.perf_counter() - start > 300:
            raise RuntimeError("bridge bench timed out")
    elapsed = time.perf_counter() - start
    bridge.link.close()
    bridge.store.close()
    return elapsed


def raw_receive(port: int, payloads: list[bytes]) -> float:
    got = threading.Event()
    seen = []
    times: list[float] = []
    sub = client("raw-sub")

    def on_message(c, u, m):
        if not seen:
            times.append(time.perf_counter())
        seen.append(1)
        if len(seen) == len(payloads):
            times.append(time.perf_counter())
            got.set()

    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(TOPIC, qos=1)
    sub.loop_start()
    time.sleep(0.3)
    raw_publish(port, payloads)
    got.wait(120)
    sub.loop_stop()
    sub.disconnect()
    return times[1] - times[0]


def collector_receive(port: int, payloads: list[bytes], db: Path, total: int) -> float:
    collector = Collector(f"mqtt://127.0.0.1:{port}", SqliteCollectorStorage(db))
    while not collector.link.connected:
        collector.step(0.01)
    collector.step(0.05)  # let the subscription settle
    pub = threading.Thread(target=raw_publish, args=(port, payloads))
    pub.start()
    first = None
    while collector.stored_bins < total:
        collector.step(0.01)
        if first is None and collector.stored_messages:
            first = time.perf_counter() - 0.0
        if first is None and collector.inbox:
            first = time.perf_counter()
    elapsed = time.perf_counter() - first
    pub.join()
    collector.link.close()
    collector.storage.close()
    return elapsed


def run_shape(messages: int, per_message: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "broker").start()
        try:
            config_path = make_config(work, broker.url, per_message)
            total, payloads = fill_outbox(config_path, messages, per_message)
            raw_pub_s = raw_publish(broker.port, payloads)
            col = subprocess.Popen([sys.executable, "-m", "walkway", "collector", "run",
                                    "--broker", broker.url, "--db", str(work / "cloud.db")],
                                   stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            bridge_s = bridge_delivery(config_path, total)
            col.terminate()
            col.wait(10)
            raw_sub_s = raw_receive(broker.port, payloads)
            col_s = collector_receive(broker.port, payloads, work / "cloud2.db", total)
        finally:
            broker.stop()
    return {
        "bins": total,
        "messages": messages,
        "raw_paho_publish_bins_per_s": round(total / raw_pub_s),
        "raw_paho_publish_msgs_per_s": round(messages / raw_pub_s),
        "bridge_delivered_bins_per_s": round(total / bridge_s),
        "bridge_delivered_msgs_per_s": round(messages / bridge_s),
        "uplink_ratio": round(raw_pub_s / bridge_s, 3),
        "raw_paho_receive_bins_per_s": round(total / raw_sub_s),
        "collector_stored_bins_per_s": round(total / col_s),
        "collector_ratio": round(raw_sub_s / col_s, 3),
    }


def main() -> dict:
    results = {}
    for messages, per_message in SHAPES:
        out = run_shape(messages, per_message)
        print(f"-- {per_message} bins per message")
        for key, value in out.items():
            print(f"   {key:34} {value}")
        results[f"{per_message}_bins_per_message"] = out
    return results
