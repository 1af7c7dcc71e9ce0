"""PRIVACY: no BLE address, no digest of one and no window key reaches the store, the logs or
MQTT. A whole edge daemon runs a "ble" source (fake scanner at bleak's seam, replaying a real
capture plus a synthetic crowd); then every byte written is searched for every input address
in its usual textual and binary forms, for every per-window digest and for every key."""

import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import fields
from pathlib import Path

import paho.mqtt.client as mqtt
from support.mqtt_wait import subscriber
from support.walkway_procs import wait_for as wait_until

from cloud_bridge.wire import counts_message
from edge.config import load_config
from edge.daemon import EdgeDaemon
from edge.store import OutboxBin, Store
from sensors.ble import estimator
from simulator.ble_crowd import (
    CrowdSpec,
    ManualClock,
    generate_crowd,
    read_pact_csv,
    replay_backend,
)

CAPTURE = Path(__file__).resolve().parent / "data" / "ble" / "btle_sniffer_05-06-2020-141000.csv"
SPEC = CrowdSpec(people_per_min=40, duration_s=180, start=1_588_788_240.0, seed=9)


def adverts():
    real = [a for a in read_pact_csv(CAPTURE) if a.time < SPEC.start + SPEC.duration_s]
    return sorted(real + generate_crowd(SPEC).adverts, key=lambda a: a.time)


def privacy_backend(ctx):
    """Named in the node config as `backend = "test_ble_privacy:privacy_backend"`."""
    return replay_backend(adverts(), ctx.clock)


def address_forms(address: str) -> set[bytes]:
    raw = bytes.fromhex(address.replace(":", ""))
    forms = {raw, raw[::-1]}
    for b in (raw, raw[::-1]):
        for sep in (":", "-", "", "."):
            for text in (sep.join(f"{x:02X}" for x in b), sep.join(f"{x:02x}" for x in b)):
                forms.add(text.encode())
    for h in (hashlib.sha256, hashlib.md5, hashlib.sha1):  # naive unkeyed hashes
        for text in (address, address.lower()):
            forms.add(h(text.encode()).hexdigest().encode())
    return forms




def test_no_address_digest_or_key_is_written_anywhere(tmp_path, broker, caplog, monkeypatch):
    keys: list[bytes] = []

    def recording_token_bytes(n=None):
        key = secrets.SystemRandom().randbytes(n or 32)
        keys.append(key)
        return key

    monkeypatch.setattr(estimator.secrets, "token_bytes", recording_token_bytes)
    log_file = tmp_path / "walkway.log"
    file_handler = logging.FileHandler(log_file)
    file_handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(file_handler)
    caplog.set_level(logging.DEBUG)
    config_path = tmp_path / "node.toml"
    config_path.write_text(
        '[node]\nid = "n1"\nsite = "s1"\n'
        '[store]\npath = "store.db"\nbin_seconds = 60\ngrace_seconds = 0\n'
        f'[mqtt]\nurl = "{broker.url}"\n'
        '[[sources]]\ntype = "ble"\nname = "ble-hall"\n'
        'backend = "test_ble_privacy:privacy_backend"\nwatchdog_s = 5\n'
    )
    config = load_config(config_path)
    clock = ManualClock(SPEC.start)
    holder: dict = {}

    def run_daemon():  # the store's SQLite connection belongs to the daemon's thread
        holder["daemon"] = EdgeDaemon(config, clock=clock)
        holder["daemon"].run()

    thread = threading.Thread(target=run_daemon, daemon=True)
    thread.start()
    # Status reasons are overwritten in place; sample them all along, not just at the end.
    seen_statuses: list[bytes] = []
    sampling = threading.Event()

    def sample():
        while not sampling.wait(0.005):
            if "daemon" in holder:
                for name, st in holder["daemon"].statuses().items():
                    seen_statuses.append(json.dumps([name, st.as_dict()]).encode())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    store_path = tmp_path / "store.db"
    try:
        wait_until(lambda: "daemon" in holder and store_path.exists(), what="daemon up")
        reader = Store(store_path, node="n1")
        wait_until(lambda: len({b["start"] for b in reader.bins(kind="count")}) >= 3,
                   what="3 windows stored")
        wait_until(lambda: holder["daemon"].workers[0].source.status().counters["adverts"]
                   == len(adverts()), what="all adverts")
        # MQTT: publish what the bridge would send (the wire format) and the source
        # statuses, and record everything the broker delivers.
        received: list[bytes] = []
        sub = subscriber(broker.port, "#",
                         lambda _c, _u, m: received.append(m.topic.encode() + m.payload))
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        # the outbox rows exactly as the bridge reads them (Store.bins -> OutboxBin)
        bins = [OutboxBin(**{f.name: row[f.name] for f in fields(OutboxBin)})
                for row in reader.bins()]
        assert any(b.sensor == "ble-hall" for b in bins)
        _, payload = counts_message("s1", "n1", bins, time.time())
        statuses = {n: s.as_dict() for n, s in holder["daemon"].statuses().items()}
        pub.publish("walkway/s1/n1/counts", payload, qos=1).wait_for_publish(30)
        pub.publish("walkway/s1/n1/health", json.dumps(statuses).encode(), qos=1
                    ).wait_for_publish(30)
        wait_until(lambda: len(received) >= 2, what="MQTT messages")
        pub.loop_stop()
        sub.loop_stop()
        reader.close()
    finally:
        if "daemon" in holder:
            holder["daemon"].stop()
        thread.join(10)
        sampling.set()
        sampler.join(30)
        logging.getLogger().removeHandler(file_handler)
        file_handler.close()
    assert not thread.is_alive()

    written = {
        "store": store_path.read_bytes(),
        "wal": (tmp_path / "store.db-wal").read_bytes() if (tmp_path / "store.db-wal").exists()
        else b"",
        "shm": (tmp_path / "store.db-shm").read_bytes() if (tmp_path / "store.db-shm").exists()
        else b"",
        "log file": log_file.read_bytes(),
        "caplog": caplog.text.encode(),
        "mqtt": b"\n".join(received),
        "statuses": b"\n".join(seen_statuses),
        "broker log": broker.log.read_bytes() if broker.log.exists() else b"",
    }
    addresses = {a.address for a in adverts()}
    assert len(addresses) > 100 and len(keys) >= 3
    needles: dict[bytes, str] = {}
    for address in addresses:
        for form in address_forms(address):
            needles[form] = f"address {address}"
        for key in keys:
            digest = hashlib.blake2b(address.encode(), key=key, digest_size=8).digest()
            needles[digest] = needles[digest.hex().encode()] = "a window digest"
    for key in keys:
        needles[key] = needles[key.hex().encode()] = "a window key"
    for where, blob in written.items():
        for needle, what in needles.items():
            assert needle not in blob, f"{what} found in {where}"
    # and the counts did arrive
    assert b"ble-hall" in written["mqtt"] and b"estimate" in written["mqtt"]
