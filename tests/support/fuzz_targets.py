"""The fuzz targets: every outside input, through the function that really decodes it.

`Targets(tmp)` builds the real objects once (an offline collector on an in-memory database,
an offline bridge with its command handler, a content folder, config and scenario files);
`generators()` gives, per target, a function making one mutated case from a valid seed.
"""

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloud_bridge.bridge import Bridge, InFlight
from cloud_bridge.collector import Collector
from cloud_bridge.collector_store import SqliteCollectorStorage
from cloud_bridge.fleet_cli import build_command
from cloud_bridge.wire import InvalidPayload, Schemas
from edge.config import load_config
from sensors.serial.parsers import MAX_BUFFER, MaxBotixParser, TfLunaParser, Wxt530Parser
from signage_player.content import ContentError, load_package
from signage_player.package_limits import NAME
from simulator.scenario import load_scenario
from support.fuzz import Mutator, Outcome, WrongResult, copy_content
from support.ops_node import CSV, node_toml
from walkway.errors import ConfigError
from walkway.notify import Notifier
from walkway.timeutil import parse_iso

SITE, NODE = "s1", "n1"
COUNTS = {"v": 1, "type": "counts", "msg": "ab00cd01", "site": SITE, "node": NODE,
          "sent": "2026-01-01T00:05:00Z",
          "bins": [{"sensor": "cam.a", "start": "2026-01-01T00:00:00Z", "seconds": 60,
                    "direction": "in", "count": 3, "version": 1},
                   {"sensor": "cam.a", "start": "2026-01-01T00:01:00Z", "seconds": 60,
                    "direction": "out", "count": 0, "version": 2}],
          "measures": [{"sensor": "wxt", "start": "2026-01-01T00:00:00Z", "seconds": 60,
                        "quantity": "temperature_c", "n": 3, "min": -3.5, "mean": -2.0,
                        "max": -1.0, "version": 1}]}
RESULT = {"v": 1, "type": "cmd-result", "id": "c1", "site": SITE, "node": NODE,
          "command": "ping", "status": "ok", "at": "2026-01-01T00:00:00Z",
          "data": {"pong": True}}
STATUS = {"v": 1, "type": "status", "node": NODE, "state": "online",
          "at": "2026-01-01T00:00:00Z", "software": "0.1.0"}
FLOWS = {"v": 1, "type": "flows", "site": SITE, "at": "2026-01-01T00:00:00Z", "window_s": 300,
         "counts": {"n2/cam.a": 12.5, "n3/ble": 0.0}}
ACK = {"v": 1, "type": "ack", "msg": "ab00cd01", "status": "stored", "stored": 2}
RESULT_STATUSES = {"ok", "accepted", "failed", "rejected", "rolled-back"}
TFL_FRAME = bytes([0x59, 0x59, 0x2C, 0x01, 0xE8, 0x03, 0x00, 0x09])
TFL_STREAM = (TFL_FRAME + bytes([sum(TFL_FRAME) & 0xFF])) * 12
MB_STREAM = b"R1234\rR0500\rR9999\r" * 4
WXT_STREAM = b"0R0,Dm=283D,Sm=1.0M,Ta=-3.6C,Ua=84.2P,Pa=1006.6H,Rc=0.00M,Hc=0.0M\r\n" * 3
SCENARIO = (Path(__file__).resolve().parents[2] / "simulator" / "scenarios"
            / "snowstorm.toml").read_text()  # the smaller built-in one: 10,000 parses


class Targets:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.schemas = Schemas()
        self.collector = _Recording("mqtt://127.0.0.1:9", SqliteCollectorStorage(":memory:"))
        (tmp / "counts.csv").write_text(CSV)
        self.node_config = tmp / "node.toml"
        self.node_config_text = node_toml("mqtt://127.0.0.1:9")
        self.node_config.write_text(self.node_config_text)
        self.restarts: list[str] = []
        self.bridge = Bridge(load_config(self.node_config), notifier=Notifier(None),
                             restart=self.restarts.append)
        self.content = copy_content(tmp / "content")
        self.manifest = json.loads((self.content / "manifest.json").read_text())
        self.config_dir = tmp / "configs"
        self.config_dir.mkdir()
        self.pointer_seed, self.fetcher = _content_fetcher(self.bridge)
        (self.config_dir / "counts.csv").write_text(CSV)

    def close(self) -> None:
        self.bridge.store.close()
        self.collector.storage.close()

    # -- collector side ------------------------------------------------------------------
    def _collect(self, leaf: str, payload: bytes) -> Outcome:
        c = self.collector
        before = c.invalid
        c.storage.conn.executescript("DELETE FROM counts; DELETE FROM measures;"
                                     " DELETE FROM node_health; DELETE FROM cmd_results;")
        c.inbox.append((f"walkway/v1/{SITE}/{NODE}/{leaf}", payload))
        c.flush()
        if c.invalid != before:
            if c.invalid != before + 1 or c.storage.counter("invalid_payloads") != c.invalid:
                raise WrongResult("an invalid payload was not counted exactly once")
            return Outcome(False, c.last_reason)
        return Outcome(True)

    def counts(self, payload: bytes) -> Outcome:
        outcome = self._collect("counts", payload)
        if outcome.accepted:
            _check_stored_counts(json.loads(payload), self.collector.storage)
        return outcome

    def health(self, payload: bytes) -> Outcome:
        outcome = self._collect("health", payload)
        if outcome.accepted and not self.collector.storage.latest_health():
            raise WrongResult("accepted health not stored")
        return outcome

    def result(self, payload: bytes) -> Outcome:
        outcome = self._collect("cmd/result", payload)
        rows = self.collector.storage.conn.execute("SELECT count(*) FROM cmd_results")
        if outcome.accepted and rows.fetchone()[0] != 1:
            raise WrongResult("accepted result not stored once")
        return outcome

    def status(self, payload: bytes) -> Outcome:
        try:
            self.schemas.decode("status.v1", payload)
        except InvalidPayload as exc:
            return Outcome(False, str(exc))
        return Outcome(True)

    # -- node side -----------------------------------------------------------------------
    def ack(self, payload: bytes) -> Outcome:
        b = self.bridge
        b.inflight = {ACK["msg"]: InFlight([(1, 1)], 0.0)}
        b._acked = []
        b._on_message(b.ack_topic, payload)
        if b._acked:
            if b._acked != [(1, 1)] or b.inflight:
                raise WrongResult(f"ack applied to the wrong bins: {b._acked}")
            return Outcome(True)
        return Outcome(False, "ignored: not an ack for a message in flight, or not stored")

    def flows(self, payload: bytes) -> Outcome:
        b = self.bridge
        path = b.neighbours_file
        path.unlink(missing_ok=True)
        b._on_message(b.flows_topic, payload)
        if not path.exists():
            return Outcome(False, "flows: invalid payload ignored")
        written = json.loads(path.read_text())["counts"]
        if written != json.loads(payload)["counts"]:
            raise WrongResult("neighbours file differs from the flows message")
        return Outcome(True)

    def command(self, payload: bytes) -> Outcome:
        results = self.bridge.commands.handle(payload)
        statuses = {r["status"] for r in results}
        if not results or not statuses <= RESULT_STATUSES:
            raise WrongResult(f"unexpected results {results}")
        last = results[-1]
        if last["status"] == "rejected":
            return Outcome(False, last.get("reason", ""))
        return Outcome(True)

    def content_pointer(self, payload: bytes) -> Outcome:
        """The sign's bridge receiving its retained content pointer (content_fetch.py)."""
        f = self.fetcher
        f._drop_job()
        f.record = {}
        f.on_message(f.pointer_topic, payload)
        if f.job is None:
            failure = f.record.get("failure") or {}
            return Outcome(False, failure.get("reason", "ignored: an empty pointer"))
        if any(f.job.ptr[k] != self.pointer_seed[k] for k in ("sha256", "size", "to")):
            raise WrongResult(f"fetching a package the signed pointer does not name: "
                              f"{f.job.ptr}")
        if f.job.part.stat().st_size != self.pointer_seed["size"]:
            raise WrongResult("the part file is not the signed size")
        return Outcome(True)

    def manifest_file(self, payload: bytes) -> Outcome:
        (self.content / "manifest.json").write_bytes(payload)
        try:
            package = load_package(self.content)
        except ContentError as exc:
            return Outcome(False, str(exc).split(": ", 1)[-1])
        if not (NAME.fullmatch(package.id) and NAME.fullmatch(package.version)):
            raise WrongResult(f"accepted a package named {package.id!r} {package.version!r}")
        return Outcome(True)

    def config_file(self, payload: bytes) -> Outcome:
        path = self.config_dir / "node.toml"
        path.write_bytes(payload)
        try:
            load_config(path)
        except ConfigError as exc:
            return Outcome(False, str(exc).splitlines()[0].split(": ", 1)[-1])
        return Outcome(True)

    def scenario_file(self, payload: bytes) -> Outcome:
        path = self.tmp / "scenario.toml"
        path.write_bytes(payload)
        try:
            load_scenario(str(path))
        except ConfigError as exc:
            return Outcome(False, str(exc).splitlines()[0].split(": ", 1)[-1])
        return Outcome(True)

    def serial(self, payload: bytes) -> Outcome:
        frames = 0
        for parser, check in ((TfLunaParser(), _lidar_ok), (MaxBotixParser(), _depth_ok),
                              (Wxt530Parser(), _weather_ok)):
            for at in range(0, len(payload), 7):  # in pieces, as a UART delivers them
                for frame in parser.feed(payload[at:at + 7]):
                    if not check(frame):
                        raise WrongResult(f"{type(parser).__name__} gave {frame!r}")
                    frames += 1
                if len(parser._buf) > max(MAX_BUFFER, 512):
                    raise WrongResult(f"{type(parser).__name__} buffer grew to "
                                      f"{len(parser._buf)}")
        return Outcome(True) if frames else Outcome(False, "no frame: all garbage")

    # -- cases ---------------------------------------------------------------------------
    def generators(self) -> dict[str, tuple[Callable[[bytes], Outcome],
                                            Callable[[Mutator], bytes]]]:
        commands = _command_seeds()
        return {
            "counts": (self.counts, lambda m: m.json_case(COUNTS)),
            "health": (self.health, lambda m: m.json_case(self._health_seed())),
            "status": (self.status, lambda m: m.json_case(STATUS)),
            "cmd-result": (self.result, lambda m: m.json_case(RESULT)),
            "ack": (self.ack, lambda m: m.json_case(ACK)),
            "flows": (self.flows, lambda m: m.json_case(FLOWS)),
            "command": (self.command, lambda m: m.json_case(m.rng.choice(commands)())),
            "manifest": (self.manifest_file, lambda m: m.json_case(self.manifest)),
            "content-pointer": (self.content_pointer,
                                lambda m: m.json_case(self.pointer_seed)),
            "config": (self.config_file, lambda m: m.text_case(_config_seed())),
            "scenario": (self.scenario_file, lambda m: m.text_case(SCENARIO)),
            "serial": (self.serial, lambda m: m.mutate_bytes(
                m.rng.choice([TFL_STREAM, MB_STREAM, WXT_STREAM, TFL_STREAM + WXT_STREAM]))),
        }

    def _health_seed(self) -> dict[str, Any]:
        from edge.health import collect

        if not hasattr(self, "_health"):
            self._health = collect(self.bridge.config, self.bridge.store, time.time())
            self._health["mqtt"] = {"connected": False, "connects": 0, "url": "mqtt://x"}
        return self._health


def _content_fetcher(bridge: Bridge) -> tuple[dict[str, Any], Any]:
    """A signed pointer for this sign, and the bridge's content fetcher trusting its key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from cloud_bridge.content_dist import pointer
    from cloud_bridge.content_fetch import ContentFetcher

    key = Ed25519PrivateKey.generate()
    ref = {"id": "sapporo-centre", "version": "2026.12.08", "sha256": "ab" * 32,
           "size": 100_000, "chunk": 49152, "chunks": 3}
    previous = {**ref, "version": "2026.12.01", "sha256": "cd" * 32}
    seed = pointer(ref, key, time.time(), to=(SITE, NODE), previous=previous)
    return seed, ContentFetcher(bridge.config, bridge.link, key.public_key())


class _Recording(Collector):
    """The real collector, remembering the last rejection's reason."""

    last_reason = ""

    def _reject(self, topic: str, reason: str) -> None:
        self.last_reason = reason
        super()._reject(topic, reason)


def _check_stored_counts(message: dict[str, Any], storage: SqliteCollectorStorage) -> None:
    want: dict[tuple, tuple[int, int]] = {}
    for b in message["bins"]:
        key = (b["sensor"], int(parse_iso(b["start"])), b["seconds"], b["direction"])
        if key not in want or b["version"] > want[key][1]:
            want[key] = (b["count"], b["version"])
    got = {(r["sensor"], r["start"], r["seconds"], r["direction"]): (r["count"], r["version"])
           for r in storage.counts()}
    if got != want:
        raise WrongResult(f"stored {sorted(got.items())[:3]} for sent {sorted(want.items())[:3]}")


def _command_seeds() -> list[Callable[[], dict[str, Any]]]:
    def make(name: str, args: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        return lambda: build_command(SITE, NODE, name, args, now=time.time(), expires_in=300)

    return [make("ping", {}), make("show-config", {}),
            make("resend", {"since": "2026-01-01T00:00:00Z"}),
            make("restart", {"service": "walkway-edge"}),
            make("emergency-on", {"text": {"ja": "訓練", "en": "Drill"}}),
            make("emergency-off", {}),
            make("move-line", {"source": "replay", "line": "a", "points": [0, 0, 1, 1]})]


def _config_seed() -> str:
    return """[node]
id = "n1"
site = "s1"

[store]
path = "edge.db"
bin_seconds = 60
grace_seconds = 30
max_mb = 64
keep_delivered_hours = 48

[mqtt]
url = "mqtt://127.0.0.1:1883"
batch_bins = 200
window = 16
ack_timeout_s = 15

[health]
every_s = 60

[commands]
apply_timeout_s = 60
restart_command = ["systemctl", "--no-block", "restart", "{service}"]

[signage]
state_dir = "signage-state"
timezone = "Asia/Tokyo"
width = 1280
height = 720
languages = ["ja", "en"]

[[sources]]
type = "replay"
name = "replay"
path = "counts.csv"
speed = 0

[[sources]]
type = "tfluna"
name = "gate"
url = "/dev/ttyUSB0"
mount_height_cm = 250
"""


def _lidar_ok(frame: Any) -> bool:
    return all(0 <= v <= 0xFFFF for v in (frame.distance_cm, frame.strength, frame.temp_raw))


def _depth_ok(value: Any) -> bool:
    return isinstance(value, int) and 0 <= value <= 9999


def _weather_ok(message: Any) -> bool:
    return all(math.isfinite(v) for v in message.values.values())
