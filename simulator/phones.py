"""Simulated app users checking in at the signs (scenario `[checkins]`, docs/simulator.md).

Every sign that offers check-ins (`checkin = true`) gets its own Ed25519 key
(OUT/nodes/NODE/checkin-key.pem; the public half in OUT/checkin-keys/NODE.pub.pem with
`signs.toml` saying where each sign stands) and runs the real player offscreen for the
whole run. The city's check-in API runs in this process on a free port, on simulated time,
with its own database OUT/checkins.db (the collector keeps writing OUT/cloud.db meanwhile).

A phone arrives at its sign at its time, waits until the sign's heartbeat says the check-in
scene is on, takes the sign's rendered frame (the player's own screenshot answer, as the
`screenshot` command gets it), decodes the QR with cv2, and redeems it through the API with
its pseudonymous account. A phone with a replay then sends the same code under another
account (the city must say `replayed`) and scans again in a later window (`already-today`).
A scan the city refuses as `expired` is scanned again, as a person would, up to
EXPIRED_RESCANS times: on simulated time the steps from frame to request (the sign's frame,
the file, the decode) take `speed` times longer than on a phone, so a busy machine can age a
code past its window; a replay is only tried with a code the city has just accepted.
"""

import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.procs import Proc, child_env
from walkway.checkin import CHECKIN_URL_PREFIX, new_keypair
from walkway.files import write_atomic, write_private
from walkway.signage_state.player import read_heartbeat, request_screenshot, screenshot_path

KEY_FILE = "checkin-key.pem"
RETRY_SIM_S = 20.0  # a phone that found no code looks again this much later (simulated)
ANSWER_WALL_S = 10.0  # the sign answers a screenshot within a frame or two; then ask again
EXPIRED_RESCANS = 5  # a phone whose code the city found expired scans again, this often
SPREAD = (0.15, 0.85)  # phones arrive over this part of the run


@dataclass
class Phone:
    index: int
    account: str  # the app's pseudonymous id (random; nothing about the person)
    node: str
    at: float  # simulated time the phone next looks at the sign
    replay: bool
    state: str = "waiting"  # waiting -> asked -> (again) -> done
    asked: str = ""
    asked_wall: float = 0.0
    looks: int = 0
    rescans: int = 0  # scans again after an `expired` refusal
    results: list[dict[str, Any]] = field(default_factory=list)


def prepare_keys(runner: Any) -> Path:
    """A key per check-in sign, before the node configs are written (they name the key)."""
    keys = runner.out / "checkin-keys"
    keys.mkdir(exist_ok=True)
    signs = []
    for node in runner.nodes.values():
        if not node.plan.checkin:
            continue
        private, public = new_keypair()
        write_private(node.dir / KEY_FILE, private)
        write_atomic(keys / f"{node.id}.pub.pem", public)
        if node.plan.sign_location:
            signs.append(f'{node.id} = "{node.plan.sign_location}"')
    write_atomic(keys / "signs.toml", "[signs]\n" + "".join(f"{s}\n" for s in signs))
    return keys


def checkin_scene_ids(content: Path) -> set[str]:
    manifest = json.loads((content / "manifest.json").read_text("utf-8"))
    return {s["id"] for s in manifest.get("scenes", []) if s.get("type") == "checkin"}


class Phones:
    def __init__(self, runner: Any) -> None:
        from simulator.signage import CONTENT

        self.runner = runner
        sc = runner.scenario
        self.scenes = checkin_scene_ids(CONTENT)
        signs = [n for n in runner.nodes.values() if n.plan.checkin]
        spec = sc.checkins
        n = spec.phones if spec else 0
        span = sc.end - sc.start
        self.phones = [
            Phone(i, _account(sc.seed, i), signs[i % len(signs)].id,
                  sc.start + span * (SPREAD[0] + (SPREAD[1] - SPREAD[0]) * i / max(n, 1)),
                  i < (spec.replays if spec else 0))
            for i in range(n)] if signs else []
        self.signs: list[Proc] = []
        self.server: Any = None
        self.storage: Any = None
        self.url = ""

    def start(self) -> None:
        import argparse
        import threading

        from city.pages_checkin import configure_checkin
        from city.web import build_app, serve
        from cloud_bridge.collector_store import open_storage
        from walkway.places import PlaceModel

        r = self.runner
        self.storage = open_storage(str(r.out / "checkins.db"))
        app = build_app(self.storage, PlaceModel(), r.out / "checkins-users.json")
        configure_checkin(app, argparse.Namespace(checkin_keys=r.out / "checkin-keys"),
                          r.clock)
        self.server = serve(app, "127.0.0.1", 0)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        env = child_env(r.clock.env_value())
        env["SDL_VIDEODRIVER"] = "dummy"  # the phones' view of the sign: offscreen frames
        for node in r.nodes.values():
            if node.plan.checkin:
                self.signs.append(Proc(f"{node.id}/sign", ["signage", "run", "--config",
                                                           str(node.config)],
                                       r.out / "logs" / f"{node.id}-sign.log", env).start())

    def poll(self) -> None:
        now = self.runner.clock()
        for phone in self.phones:
            if phone.state == "done" or now < phone.at:
                continue
            node = self.runner.nodes[phone.node]
            if node.down:
                continue
            state_dir = node.dir / "signage-state"
            if phone.state in ("waiting", "again"):
                beat = read_heartbeat(state_dir)
                if beat is None or beat.get("scene") not in self.scenes:
                    continue  # the sign is showing something else: look again next tick
                phone.asked = f"phone{phone.index}-{phone.looks}"
                phone.looks += 1
                phone.asked_wall = time.monotonic()
                request_screenshot(state_dir, phone.asked, now)
                phone.state = "asked" if phone.state == "waiting" else "asked-again"
                continue
            png = screenshot_path(state_dir, phone.asked)
            if not png.exists():
                if time.monotonic() - phone.asked_wall > ANSWER_WALL_S:
                    phone.state = "waiting" if phone.state == "asked" else "again"
                continue
            text = _decode(png.read_bytes())
            png.unlink(missing_ok=True)
            if not text.startswith(CHECKIN_URL_PREFIX):  # the scene moved on: try later
                phone.state = "waiting" if phone.state == "asked" else "again"
                phone.at = now + RETRY_SIM_S
                continue
            self._redeem(phone, text, phone.account, "scan" if phone.state == "asked"
                         else "scan-again")
            if phone.results[-1]["refused"] == "expired" and phone.rescans < EXPIRED_RESCANS:
                phone.rescans += 1
                phone.state = "waiting" if phone.state == "asked" else "again"
                continue
            if phone.state == "asked" and phone.replay and phone.results[-1]["awarded"]:
                self._redeem(phone, text, _account(self.runner.scenario.seed, 1000 + phone.index),
                             "replay")
                phone.state, phone.at = "again", now + 60  # a later window, same sign, same day
            else:
                phone.state = "done"

    def _redeem(self, phone: Phone, text: str, account: str, what: str) -> None:
        node = text.removeprefix(CHECKIN_URL_PREFIX).split(".")[1]
        form = urllib.parse.urlencode({"token": text, "node": node, "account": account})
        try:
            with urllib.request.urlopen(f"{self.url}/api/checkin", form.encode(), timeout=10) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as exc:
            try:
                body = json.loads(exc.read())
            except ValueError:
                body = {"reason": f"http-{exc.code}"}
        except (urllib.error.URLError, OSError, ValueError) as exc:  # the API did not answer
            body = {"reason": f"no-answer: {exc}"}
        phone.results.append({"phone": phone.index, "sign": phone.node, "what": what,
                              "awarded": body.get("points", 0) if "reason" not in body else 0,
                              "refused": body.get("reason", "")})

    def close(self) -> None:
        for proc in self.signs:
            proc.terminate(10)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.storage is not None:
            self.storage.close()

    def summary(self) -> dict[str, Any]:
        results = [x for p in self.phones for x in p.results]
        refused = Counter(x["refused"] for x in results if x["refused"])
        return {"phones": len(self.phones), "signs": sorted({p.node for p in self.phones}),
                "attempts": len(results),
                "awarded": sum(1 for x in results if x["awarded"]),
                "points": sum(x["awarded"] for x in results),
                "refused": dict(sorted(refused.items())),
                "no_checkin": sum(1 for p in self.phones if not p.results),
                "frames_looked_at": sum(p.looks for p in self.phones),
                "results": results, "api_db": str(self.runner.out / "checkins.db")}


def _account(seed: int, i: int) -> str:
    return "sim-" + hashlib.sha256(f"walkway-sim-phone|{seed}|{i}".encode()).hexdigest()[:24]


def _decode(png: bytes) -> str:
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        return ""
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(img)
    if not text and hasattr(cv2, "QRCodeDetectorAruco"):  # the classic one misses ~3 %
        text, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(img)
    return text or ""
