"""Signs for the content distribution tests: a CA registry with tagged nodes, and per sign
its node config and the real bridge (with its content fetcher) in a thread."""

import io
import json
import shutil
import subprocess
import threading
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cloud_bridge.bridge import Bridge
from edge.config import load_config
from signage_player.authoring.build import build
from signage_player.install import load_current
from walkway.notify import Notifier

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "tests" / "data" / "content_src"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
SMALL = "2048"  # chunk size in these tests (the default is 48 KiB): several chunks each


def package(tmp: Path, key_path: Path, version: str) -> Path:
    src = tmp / f"src-{version}"
    shutil.copytree(SRC, src)
    meta = src / "package.toml"
    meta.write_text(meta.read_text().replace('version = "2026.12.01"', f'version = "{version}"'))
    from signage_player.signing import load_private_key as content_key

    out = tmp / f"pkg-{version}"
    build(src, out, key=content_key(key_path), now=NOW, sizes=((1920, 1080),))
    return out


def manifest(pkg: Path) -> dict:
    return json.loads((pkg / "manifest.json").read_text())


def walkway(*argv: str) -> subprocess.CompletedProcess:
    """`walkway ARGV` in this process (a second Python start per command costs seconds on a
    busy machine); its exit status and output as from a subprocess."""
    from walkway.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue())


class Sign:
    def __init__(self, root: Path, broker_url: str, node: str, public_key: Path, *,
                 probation_s: float = 60, stale_s: float = 15, fps: int = 30,
                 max_kib_s: float = 512) -> None:
        self.root, self.node = root / node, node
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "counts.csv").write_text("time,sensor,direction,count\n")
        self.config = self.root / "node.toml"
        self.config.write_text(f"""[node]
id = "{node}"
site = "s1"

[store]
path = "edge.db"

[mqtt]
url = "{broker_url}"

[health]
every_s = 60
signage_stale_s = {stale_s}

[signage]
state_dir = "signage-state"
content_public_key = "{public_key}"
width = 1920
height = 1080
fullscreen = false
fps = {fps}
check_every_s = 0.5
proof_of_play = false

[content_fetch]
max_kib_s = {max_kib_s}
chunk_timeout_s = 10
probation_s = {probation_s}

[[sources]]
type = "replay"
name = "replay"
path = "counts.csv"
""")
        self.state_dir = self.root / "signage-state"
        self.bridge: Bridge | None = None
        self.thread: threading.Thread | None = None

    def start(self, **bridge_kw: Any) -> "Sign":
        ready = threading.Event()

        def run() -> None:  # the store's SQLite connection belongs to the bridge's thread
            self.bridge = Bridge(load_config(self.config), notifier=Notifier(None),
                                 **bridge_kw)
            ready.set()
            self.bridge.run()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(30), "the bridge never started"
        return self

    def stop(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
            self.thread.join(30)
        self.bridge = None

    def subscribed(self) -> bool:
        b = self.bridge
        return b is not None and b.content.pointer_topic in b.link.subscribed

    def version(self) -> str | None:
        current = load_current(self.state_dir)
        return None if current is None else current.version

    def record(self) -> dict:
        try:
            return json.loads((self.state_dir / "content-inbox" / "fetch.json").read_text())
        except (OSError, ValueError):
            return {}

    def handled(self, ptr_issued_at: str) -> dict | None:
        """The last final report, when it is about the pointer issued at that time."""
        rec = self.record()
        return rec if (rec.get("handled") or {}).get("issued_at") == ptr_issued_at else None
