"""A node for operations tests: a real `walkway edge run` process, an in-process bridge
(its restart hook is the test's supervisor) and a real broker."""

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from cloud_bridge.bridge import Bridge
from cloud_bridge.fleet_cli import build_command, send
from edge.config import load_config
from support.walkway_procs import WalkwayProcess, wait_for
from walkway.notify import Notifier

CSV = "time,sensor,direction,count\n2026-01-12T07:00:00Z,cam.a,in,1\n"


def node_toml(broker_url: str, extra: str = "", sources: str | None = None,
              apply_timeout_s: float = 20, stale_after_s: float = 5) -> str:
    if sources is None:
        sources = '[[sources]]\ntype = "replay"\nname = "replay"\npath = "counts.csv"\n'
    return f"""[node]
id = "n1"
site = "s1"

[store]
path = "edge.db"

[mqtt]
url = "{broker_url}"

[health]
every_s = 0.5
stale_after_s = {stale_after_s}

[commands]
apply_timeout_s = {apply_timeout_s}
healthy_for_s = 1
screenshot_timeout_s = 5
{extra}
[signage]
state_dir = "signage-state"

{sources}"""


class OpsNode:
    def __init__(self, root: Path, broker_url: str, *, edge: bool = True, extra: str = "",
                 sources: str | None = None, apply_timeout_s: float = 20,
                 stale_after_s: float = 5) -> None:
        self.root = root
        self.broker_url = broker_url
        (root / "counts.csv").write_text(CSV)
        self.config_file = root / "node.toml"
        self.config_file.write_text(node_toml(broker_url, extra, sources, apply_timeout_s,
                                               stale_after_s))
        self.restarts: list[str] = []
        self.edge = WalkwayProcess(["edge", "run", "--config", str(self.config_file)],
                                   root / "edge.log") if edge else None
        self.bridge: Bridge | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run_bridge, daemon=True)

    # The in-process supervisor: what `systemctl restart` does in production.
    def restart(self, service: str) -> None:
        self.restarts.append(service)
        if service == "walkway-edge" and self.edge is not None:
            self.edge.terminate()
            self.edge.start()

    def _run_bridge(self) -> None:
        self.bridge = Bridge(load_config(self.config_file), restart=self.restart,
                             notifier=Notifier(None))
        self._ready.set()
        self.bridge.run()

    def start(self) -> "OpsNode":
        if self.edge is not None:
            self.edge.start()
            wait_for(lambda: self.edge_state() is not None, 30, "the edge heartbeat")
        self._thread.start()
        assert self._ready.wait(30), "the bridge never started"
        # Not `link.connected`: that is true before the bridge's SUBSCRIBE has even been
        # written (mqtt_link sets it, then on_connected subscribes; paho sends the packet on a
        # later poll). A command published before the broker has the subscription is dropped
        # (QoS 1 without a subscriber), and the test sees no result at all.
        wait_for(lambda: self.bridge.link.connected
                 and self.bridge.cmd_topic in self.bridge.link.subscribed, 30,
                 "the bridge's command subscription acknowledged")
        return self

    def stop(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
        self._thread.join(10)
        if self.edge is not None:
            self.edge.terminate()

    def edge_state(self) -> dict | None:
        import json

        db = self.root / "edge.db"
        if not db.exists():
            return None
        with sqlite3.connect(db, timeout=10) as conn:
            try:
                row = conn.execute("SELECT value FROM node_state WHERE name='edge'").fetchone()
            except sqlite3.OperationalError:
                return None
        return json.loads(row[0]) if row else None

    def command(self, name: str, args: dict[str, Any] | None = None, *,
                now: float | None = None, expires_in: float = 300, **kw: Any) -> dict[str, Any]:
        return build_command("s1", "n1", name, args or {},
                             now=time.time() if now is None else now, expires_in=expires_in,
                             **kw)

    def send(self, message: dict[str, Any], *, payload: bytes | None = None,
             timeout: float = 20) -> list[dict]:
        """Publish (optionally raw `payload` in place of the message) and collect results."""
        return list(send(self.broker_url, message, payload=payload, timeout=timeout))
