"""The in-bridge content fetcher: memory stays at one chunk whatever the package size, and
the bandwidth cap holds (issue 14; cloud_bridge/content_fetch.py).

memory: peak Python allocations (tracemalloc, every thread) while a real bridge fetches a
        1 MiB and a 16 MiB package from a real mosquitto, as a ratio to the chunk size and
        to each other (bounded: the 16x package needs about the same).
cap:    achieved chunk rate over a 2 MiB package at max_kib_s = 512, as a ratio to the cap.
"""

import json
import os
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from cloud_bridge.bridge import Bridge
from cloud_bridge.content_dist import (
    Publisher,
    package_ref,
    pointer,
    publish_chunks,
    publish_pointers,
)
from edge.config import load_config
from walkway.local_broker import Mosquitto
from walkway.notify import Notifier

CHUNK = 48 * 1024


def _config(work: Path, url: str, node: str, public_key: Path, kib_s: float) -> Path:
    (work / "counts.csv").write_text("time,sensor,direction,count\n")
    path = work / "node.toml"
    path.write_text(f"""[node]
id = "{node}"
site = "s1"
[store]
path = "edge.db"
[mqtt]
url = "{url}"
[signage]
state_dir = "state"
content_public_key = "{public_key}"
[content_fetch]
max_kib_s = {kib_s}
[[sources]]
type = "replay"
name = "replay"
path = "counts.csv"
""")
    return path


def _fetch(root: Path, broker: Mosquitto, key, public_key: Path, size: int, kib_s: float,
           traced: bool) -> dict:
    work = Path(tempfile.mkdtemp(dir=root))
    archive = os.urandom(size)  # not a package: the install refuses it after the fetch
    ref = package_ref({"id": "bench", "version": str(size)}, archive, CHUNK)
    pub = Publisher(broker.url, f"bench-{size}")
    publish_chunks(pub, {"s1"}, ref, archive)
    node = f"n{size}-{int(kib_s)}"  # its own sign: no retained pointer from an earlier run
    config = _config(work, broker.url, node, public_key, kib_s)
    box: dict = {}

    def run() -> None:
        box["bridge"] = Bridge(load_config(config), notifier=Notifier(None))
        box["bridge"].run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while "bridge" not in box:
        time.sleep(0.01)
    fetcher = box["bridge"].content
    while fetcher.pointer_topic not in box["bridge"].link.subscribed:
        time.sleep(0.01)
    if traced:  # from here on: what the fetch itself needs (the bridge is up and idle)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    publish_pointers(pub, {("s1", node): pointer(ref, key, time.time(), to=("s1", node))})
    start = time.monotonic()
    while fetcher.install is None and not (fetcher.record.get("handled")):
        time.sleep(0.005)
    seconds = time.monotonic() - start
    peak = tracemalloc.get_traced_memory()[1] - base if traced else 0
    box["bridge"].stop()
    thread.join(30)
    pub.close()
    return {"bytes": size, "chunks": ref["chunks"], "seconds": round(seconds, 3),
            "peak_bytes": peak, "asked": fetcher.asked}


def main() -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    root = Path(tempfile.mkdtemp(prefix="walkway-bench-content-"))
    key = Ed25519PrivateKey.generate()
    public_key = root / "content.pub.pem"
    public_key.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    broker = Mosquitto(root / "broker").start()
    try:
        tracemalloc.start()
        small = _fetch(root, broker, key, public_key, 1 << 20, 100_000, True)
        large = _fetch(root, broker, key, public_key, 16 << 20, 100_000, True)
        tracemalloc.stop()
        capped = _fetch(root, broker, key, public_key, 2 << 20, 512, False)
    finally:
        broker.stop()
    rate = capped["bytes"] / 1024 / capped["seconds"]
    result = {
        "memory": {"1MiB": small, "16MiB": large,
                   "peak_16MiB_over_peak_1MiB": round(large["peak_bytes"] / small["peak_bytes"], 2),
                   "peak_16MiB_over_chunk": round(large["peak_bytes"] / CHUNK, 2)},
        "cap": {**capped, "kib_s": round(rate, 1), "achieved_over_cap": round(rate / 512, 3)},
    }
    print(json.dumps(result, indent=2))
    return result
