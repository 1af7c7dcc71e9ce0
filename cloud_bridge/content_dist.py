"""Content over the fleet's own broker (docs/content.md#distribution).

Why chunks over MQTT, not HTTPS: every sign already holds a TLS identity and an ACL on the
fleet broker, and retained messages give "an offline sign catches up when it returns" for
free; an HTTPS content server would be a second service with its own credentials. Packages
are small (the Sapporo one is ~60 KB as .tar.gz); chunks of CHUNK bytes keep each message
and the sign's memory bounded (chunks are written to disk at their offset, never held).

Topics (QoS 1, retained):
  walkway/v1/{site}/content/{sha}/{i}     chunk i of the package archive (.tar.gz), per site
  walkway/v1/{site}/{node}/content        the signed pointer for one sign:
      {"v":1,"type":"content","id","version","sha256","size","chunk","chunks","issued_at",
       "signature"}  (Ed25519 with the content key over the canonical JSON of the rest)
  walkway/v1/{site}/{node}/content/state  the sign's fetcher: {"sha256","id","version",
       "state": "fetched"|"refused","reason","at"}
The package inside is signed too (manifest.sig) and `walkway signage install` checks it.
"""

import base64
import hashlib
import io
import json
import math
import os
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud_bridge.topics import PREFIX
from provisioning.signing import canonical_json
from walkway.errors import UsageError, WalkwayError
from walkway.timeutil import iso_z

CHUNK = 48 * 1024  # default chunk size; the pointer names the one used
MAX_CHUNK = 256 * 1024  # a sign never takes a bigger message for one chunk
MAX_PACKAGE = 256 * 2**20  # a pointer announcing more is refused


class ContentDistError(WalkwayError):
    """A content pointer or package received over the broker cannot be used."""


def chunk_topic(site: str, sha: str, i: int) -> str:
    return f"{PREFIX}/{site}/content/{sha}/{i}"


def pointer_topic(site: str, node: str) -> str:
    return f"{PREFIX}/{site}/{node}/content"


def state_topic(site: str, node: str) -> str:
    return f"{PREFIX}/{site}/{node}/content/state"


def pack(package_dir: Path) -> bytes:
    """The package folder as a deterministic .tar.gz (sorted names, zeroed times/owners)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as t:
        for p in sorted(Path(package_dir).rglob("*")):
            if not p.is_file() or p.is_symlink():
                continue
            info = tarfile.TarInfo(p.relative_to(package_dir).as_posix())
            info.size, info.mtime, info.mode = p.stat().st_size, 0, 0o644
            with p.open("rb") as f:
                t.addfile(info, f)
    return buf.getvalue()


def resolve_targets(specs: list[str], registry: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """SITE/NODE as given; SITE: every live node of that site in the CA registry."""
    out: list[tuple[str, str]] = []
    for spec in specs:
        if spec.startswith("tag:"):
            raise UsageError(f"--to {spec}: tag targets need the balena device tags, which "
                             "publish-content does not read yet; name SITE or SITE/NODE")
        site, _, node = spec.partition("/")
        if node:
            out.append((site, node))
            continue
        nodes = sorted(e["cn"] for e in registry if e.get("kind") == "node"
                       and e.get("site") == site and not e.get("revoked"))
        if not nodes:
            raise UsageError(f"--to {spec}: no nodes of site {site!r} in the CA registry")
        out += [(site, n) for n in nodes]
    return sorted(dict.fromkeys(out))


def canary_split(targets: list[tuple[str, str]], percent: float | None) -> list[tuple[str, str]]:
    """The first floor(percent) of the sorted targets, at least one (all without --canary)."""
    if percent is None:
        return targets
    return targets[: max(1, math.floor(len(targets) * percent / 100 + 1e-9))]


def pointer(package: dict[str, Any], archive: bytes, key: Any, now: float,
            chunk: int = CHUNK) -> dict[str, Any]:
    body = {"v": 1, "type": "content", "id": package["id"], "version": package["version"],
            "sha256": hashlib.sha256(archive).hexdigest(), "size": len(archive),
            "chunk": chunk, "chunks": max(1, math.ceil(len(archive) / chunk)),
            "issued_at": iso_z(now)}
    signature = key.sign(canonical_json(body))
    return {**body, "signature": base64.b64encode(signature).decode("ascii")}


def verify_pointer(message: Any, public_key: Any) -> dict[str, Any]:
    """The pointer's fields, or ContentDistError with a one-line reason."""
    from cryptography.exceptions import InvalidSignature

    if not isinstance(message, dict) or message.get("type") != "content":
        raise ContentDistError("content pointer: expected a JSON object of type content")
    body = {k: v for k, v in message.items() if k != "signature"}
    try:
        public_key.verify(base64.b64decode(str(message.get("signature", "")), validate=True),
                          canonical_json(body))
    except (InvalidSignature, ValueError) as exc:
        raise ContentDistError("content pointer: unsigned or not signed with the content key"
                               " (content_public_key); refused") from exc
    size, chunk, chunks = body.get("size"), body.get("chunk"), body.get("chunks")
    if not (isinstance(size, int) and 0 < size <= MAX_PACKAGE and isinstance(chunk, int)
            and 0 < chunk <= MAX_CHUNK and chunks == max(1, math.ceil(size / chunk))):
        raise ContentDistError(f"content pointer: size/chunk/chunks: expected at most "
                               f"{MAX_PACKAGE} bytes in chunks of at most {MAX_CHUNK}, got "
                               f"{size}/{chunk}/{chunks}")
    return body


def _client(broker_url: str, client_id: str, tls_context: Any = None) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from cloud_bridge.collector import parse_broker_url

    host, port, tls = parse_broker_url(broker_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    if tls:
        import ssl

        client.tls_set_context(tls_context or ssl.create_default_context())
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client


def publish(broker_url: str, package_dir: Path, package: dict[str, Any],
            targets: list[tuple[str, str]], key: Any, *, now: float,
            tls_context: Any = None, timeout: float = 60.0,
            chunk: int = CHUNK) -> dict[str, Any]:
    """Chunks once per site, then a pointer per target; returns the pointer."""
    archive = pack(package_dir)
    ptr = pointer(package, archive, key, now, chunk)
    client = _client(broker_url, f"walkway-publish-{os.getpid()}", tls_context)
    try:
        infos = []
        for site in sorted({s for s, _ in targets}):
            for i in range(ptr["chunks"]):
                infos.append(client.publish(chunk_topic(site, ptr["sha256"], i),
                                            archive[i * chunk:(i + 1) * chunk], qos=1,
                                            retain=True))
        # Pointers last: a sign never sees a pointer before its chunks are on the broker.
        for info in infos:
            info.wait_for_publish(timeout)
        for site, node in targets:
            client.publish(pointer_topic(site, node), json.dumps(ptr), qos=1,
                           retain=True).wait_for_publish(timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    return ptr


@dataclass
class Fetched:
    state: str  # fetched | refused | none
    reason: str = ""
    path: Path | None = None
    pointer: dict[str, Any] | None = None


class _Fetch:
    """One fetch: the pointer, then the chunks, written to disk at their offsets."""

    def __init__(self, site: str, node: str, inbox: Path, public_key: Any) -> None:
        self.site, self.node, self.inbox, self.key = site, node, inbox, public_key
        self.done = threading.Event()
        self.result = Fetched("none", "no content pointer for this sign on the broker")
        self.ptr: dict[str, Any] | None = None
        self.have: set[int] = set()
        self.part: Path | None = None

    def on_message(self, client: Any, _userdata: Any, msg: Any) -> None:
        if msg.topic == pointer_topic(self.site, self.node):
            self._pointer(client, msg.payload)
        elif self.ptr is not None and self.part is not None:
            self._chunk(msg.topic, msg.payload)

    def _pointer(self, client: Any, payload: bytes) -> None:
        try:
            ptr = verify_pointer(json.loads(payload), self.key)
        except (ValueError, ContentDistError) as exc:
            self._finish(Fetched("refused", str(exc).splitlines()[0]))
            return
        final = self.inbox / f"{ptr['id']}-{ptr['version']}-{ptr['sha256'][:8]}.tar.gz"
        if final.is_file():
            self._finish(Fetched("fetched", "already here", final, ptr))
            return
        self.ptr, self.part = ptr, self.inbox / f".part-{ptr['sha256'][:16]}"
        with self.part.open("wb") as f:
            f.truncate(ptr["size"])
        client.subscribe(f"{PREFIX}/{self.site}/content/{ptr['sha256']}/+", qos=1)

    def _chunk(self, topic: str, payload: bytes) -> None:
        assert self.ptr is not None and self.part is not None
        prefix = f"{PREFIX}/{self.site}/content/{self.ptr['sha256']}/"
        index = topic.removeprefix(prefix)
        if not topic.startswith(prefix) or not index.isdigit():
            return
        i = int(index)
        if i >= self.ptr["chunks"] or len(payload) > self.ptr["chunk"] or i in self.have:
            return
        with self.part.open("r+b") as f:
            f.seek(i * self.ptr["chunk"])
            f.write(payload)
        self.have.add(i)
        if len(self.have) == self.ptr["chunks"]:
            self._complete()

    def _complete(self) -> None:
        assert self.ptr is not None and self.part is not None
        digest = hashlib.sha256()
        with self.part.open("rb") as f:
            for block in iter(lambda: f.read(1 << 16), b""):
                digest.update(block)
        if digest.hexdigest() != self.ptr["sha256"]:
            self.part.unlink(missing_ok=True)
            self._finish(Fetched("refused", f"package {self.ptr['id']} {self.ptr['version']}: "
                                 "sha256 of the received chunks does not match the signed "
                                 "pointer (tampered or damaged); refused", None, self.ptr))
            return
        final = self.inbox / f"{self.ptr['id']}-{self.ptr['version']}-{self.ptr['sha256'][:8]}"
        final = final.with_name(final.name + ".tar.gz")
        os.replace(self.part, final)
        self._finish(Fetched("fetched", "", final, self.ptr))

    def _finish(self, result: Fetched) -> None:
        self.result = result
        self.done.set()


def fetch(broker_url: str, site: str, node: str, inbox: Path, public_key: Any, *,
          timeout: float, now: float, tls_context: Any = None) -> Fetched:
    """Fetch this sign's pointed-at package into `inbox` (for `walkway signage install`)
    and report the outcome on .../content/state. Retained messages make it catch up after
    being offline: run it at start and whenever it reconnects."""
    inbox.mkdir(parents=True, exist_ok=True)
    job = _Fetch(site, node, inbox, public_key)
    client = _client(broker_url, f"walkway-fetch-{site}-{node}", tls_context)
    client.on_message = job.on_message
    try:
        client.subscribe(pointer_topic(site, node), qos=1)
        job.done.wait(timeout)
        result = job.result
        if result.state == "none" and job.ptr is not None:
            result = Fetched("refused", f"package {job.ptr['id']}: only {len(job.have)} of "
                             f"{job.ptr['chunks']} chunks arrived within {timeout:g} s", None,
                             job.ptr)
        if result.pointer is not None or result.state == "refused":
            p = result.pointer or {}
            state = {"sha256": p.get("sha256"), "id": p.get("id"), "version": p.get("version"),
                     "state": result.state, "reason": result.reason, "at": iso_z(now)}
            client.publish(state_topic(site, node), json.dumps(state), qos=1,
                           retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return result


def content_status(broker_url: str, *, wait_s: float = 1.0,
                   tls_context: Any = None) -> list[dict[str, Any]]:
    """Per sign: the pointer published to it and what its fetcher said (retained topics)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    lock = threading.Lock()

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        parts = msg.topic.split("/")
        if len(parts) < 5 or parts[4] != "content":
            return
        try:
            body = json.loads(msg.payload)
        except ValueError:
            return
        with lock:
            row = rows.setdefault((parts[2], parts[3]), {"site": parts[2], "node": parts[3]})
            row["state" if len(parts) == 6 else "published"] = body

    client = _client(broker_url, f"walkway-content-status-{os.getpid()}", tls_context)
    client.on_message = on_message
    try:
        client.subscribe([(f"{PREFIX}/+/+/content", 1), (f"{PREFIX}/+/+/content/state", 1)])
        time.sleep(wait_s)  # retained messages arrive right after SUBSCRIBE; no end marker
    finally:
        client.disconnect()
        client.loop_stop()
    with lock:
        return [rows[k] for k in sorted(rows)]
