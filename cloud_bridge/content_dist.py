"""Content over the fleet's own broker: the wire side (docs/content.md#distribution).

Why chunks over MQTT, not HTTPS: every sign already holds a TLS identity and an ACL on the
fleet broker, and retained messages give "an offline sign catches up when it returns" for
free; an HTTPS content server would be a second service with its own credentials. Packages
are small (the Sapporo one is ~12 KB as .tar.gz).

Topics (QoS 1, retained):
  walkway/v1/{site}/content/{sha}/{i}     chunk i of the package archive (.tar.gz), per site
  walkway/v1/{site}/content/{sha}/meta    {"id","version","sha256","size","chunk","chunks"}
  walkway/v1/{site}/{node}/content        the signed pointer for one sign (see `pointer`)
  walkway/v1/{site}/{node}/content/state  what the sign's bridge did with it
                                          (cloud_bridge/content_fetch.py)
The package inside is signed too (manifest.sig) and `walkway signage install` checks it.
Retained chunks live on the broker until cleared: `clear_unreferenced` empties every chunk
no pointer names (as its package or as its `previous`, kept for a rollback).
"""

import base64
import gzip
import hashlib
import io
import json
import math
import re
import tarfile
import threading
from pathlib import Path
from typing import Any

from cloud_bridge.topics import PREFIX
from provisioning.signing import canonical_json
from walkway.errors import UsageError, WalkwayError
from walkway.timeutil import iso_z

CHUNK = 48 * 1024  # default chunk size; the pointer names the one used
MAX_CHUNK = 256 * 1024  # a sign never takes a bigger message for one chunk
MAX_PACKAGE = 256 * 2**20  # a pointer announcing more is refused
PACKAGE_FIELDS = ("id", "version", "sha256", "size", "chunk", "chunks")


class ContentDistError(WalkwayError):
    """A content pointer or package received over the broker cannot be used."""


def chunk_topic(site: str, sha: str, i: int) -> str:
    return f"{PREFIX}/{site}/content/{sha}/{i}"


def meta_topic(site: str, sha: str) -> str:
    """The package's chunk count, so clearing it needs no listing of its chunks."""
    return f"{PREFIX}/{site}/content/{sha}/meta"


def pointer_topic(site: str, node: str) -> str:
    return f"{PREFIX}/{site}/{node}/content"


def state_topic(site: str, node: str) -> str:
    return f"{PREFIX}/{site}/{node}/content/state"


def pack(package_dir: Path) -> bytes:
    """The package folder as a deterministic .tar.gz (sorted names, zeroed times/owners)."""
    buf = io.BytesIO()
    # mtime=0 in the gzip header too: the same folder always gives the same sha256.
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as t:
        for p in sorted(Path(package_dir).rglob("*")):
            if not p.is_file() or p.is_symlink():
                continue
            info = tarfile.TarInfo(p.relative_to(package_dir).as_posix())
            info.size, info.mtime, info.mode = p.stat().st_size, 0, 0o644
            with p.open("rb") as f:
                t.addfile(info, f)
    return buf.getvalue()


def resolve_targets(specs: list[str], registry: list[dict[str, Any]],
                    tags: dict[str, list[str]] | None = None) -> list[tuple[str, str]]:
    """SITE/NODE as given; SITE: every live node of that site in the CA registry;
    tag:NAME: every live node carrying that tag in the fleet's tags (provisioning/tags.py)."""
    live = sorted((e["site"], e["cn"]) for e in registry
                  if e.get("kind") == "node" and not e.get("revoked_at"))
    out: list[tuple[str, str]] = []
    for spec in specs:
        if spec.startswith("tag:"):
            name = spec.removeprefix("tag:")
            found = [(s, n) for s, n in live if name in (tags or {}).get(n, [])]
            if not found:
                raise UsageError(f"--to {spec}: no live node carries tag {name!r} "
                                 "(walkway provision tag --node N --add NAME)")
            out += found
            continue
        site, _, node = spec.partition("/")
        if node:
            out.append((site, node))
            continue
        nodes = [(s, n) for s, n in live if s == site]
        if not nodes:
            raise UsageError(f"--to {spec}: no nodes of site {site!r} in the CA registry")
        out += nodes
    return sorted(dict.fromkeys(out))


def canary_split(targets: list[tuple[str, str]], percent: float | None) -> list[tuple[str, str]]:
    """The first floor(percent) of the sorted targets, at least one (all without --canary)."""
    if percent is None:
        return targets
    return targets[: max(1, math.floor(len(targets) * percent / 100 + 1e-9))]


def package_ref(package: dict[str, Any], archive: bytes, chunk: int = CHUNK) -> dict[str, Any]:
    """What a pointer names about a package: id, version, sha256, size, chunk, chunks."""
    return {"id": package["id"], "version": package["version"],
            "sha256": hashlib.sha256(archive).hexdigest(), "size": len(archive),
            "chunk": chunk, "chunks": max(1, math.ceil(len(archive) / chunk))}


def pointer(ref: dict[str, Any], key: Any, now: float, *, to: tuple[str, str],
            previous: dict[str, Any] | None = None, rollback: bool = False) -> dict[str, Any]:
    """A signed pointer for one sign. `to` binds it to that sign (a copy on another sign's
    topic is refused); `previous` names the package it replaces (kept on the broker for a
    rollback); `rollback` lets the sign install an older package."""
    body: dict[str, Any] = {"v": 1, "type": "content", **{k: ref[k] for k in PACKAGE_FIELDS},
                            "to": f"{to[0]}/{to[1]}", "issued_at": iso_z(now)}
    if previous is not None:
        body["previous"] = {k: previous[k] for k in PACKAGE_FIELDS}
    if rollback:
        body["rollback"] = True
    signature = key.sign(canonical_json(body))
    return {**body, "signature": base64.b64encode(signature).decode("ascii")}


def verify_pointer(message: Any, public_key: Any, site: str, node: str) -> dict[str, Any]:
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
    if body.get("to") != f"{site}/{node}":
        raise ContentDistError(f"content pointer: to: expected {site}/{node}, got "
                               f"{body.get('to')!r} (a copy of another sign's pointer); refused")
    size, chunk, chunks = body.get("size"), body.get("chunk"), body.get("chunks")
    if not (isinstance(size, int) and 0 < size <= MAX_PACKAGE and isinstance(chunk, int)
            and 0 < chunk <= MAX_CHUNK and chunks == max(1, math.ceil(size / chunk))):
        raise ContentDistError(f"content pointer: size/chunk/chunks: expected at most "
                               f"{MAX_PACKAGE} bytes in chunks of at most {MAX_CHUNK}, got "
                               f"{size}/{chunk}/{chunks}")
    sha = body.get("sha256")
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise ContentDistError("content pointer: sha256: expected 64 lowercase hex digits")
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(body.get("issued_at"))):
        # Compared as text with the last one handled (replays): one fixed UTC format only.
        raise ContentDistError("content pointer: issued_at: expected YYYY-MM-DDTHH:MM:SSZ")
    return body


# -- the publisher's connection -----------------------------------------------------------
class Publisher:
    """One MQTT connection of the city side (the collector principal's certificate):
    publishes chunks and pointers, reads retained state."""

    def __init__(self, broker_url: str, client_id: str, tls_context: Any = None,
                 timeout: float = 60.0) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from cloud_bridge.collector import parse_broker_url

        host, port, tls = parse_broker_url(broker_url)
        self.timeout = timeout
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        if tls:
            import ssl

            self.client.tls_set_context(tls_context or ssl.create_default_context())
        self._lock = threading.Lock()
        self._sink: Any = None
        self._subacks: dict[int, threading.Event] = {}
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        connack: list[Any] = []
        connected = threading.Event()
        self.client.on_connect = lambda _c, _u, _f, reason, _p: (connack.append(reason),
                                                                 connected.set())
        try:
            self.client.connect(host, port, keepalive=30)
        except (OSError, ValueError) as exc:  # refused, unreachable, TLS handshake (ssl.SSLError)
            raise ContentDistError(f"--broker {broker_url}: cannot connect: {exc}") from exc
        self.client.loop_start()
        if not connected.wait(timeout) or connack[0].is_failure:
            self.close()
            why = connack[0] if connack else f"no answer within {timeout:g} s"
            raise ContentDistError(f"--broker {broker_url}: connection refused: {why}")

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        with self._lock:
            sink = self._sink
        if sink is not None:
            sink(msg.topic, msg.payload)

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        with self._lock:
            event = self._subacks.setdefault(mid, threading.Event())
        event.set()

    def _subscribe(self, topics: list[tuple[str, int]]) -> None:
        _rc, mid = self.client.subscribe(topics)
        with self._lock:
            event = self._subacks.setdefault(mid, threading.Event())
        if not event.wait(self.timeout):
            raise ContentDistError(f"broker: no SUBACK for {topics[0][0]} within "
                                   f"{self.timeout:g} s")

    def retained(self, filters: list[str], sink: Any) -> None:
        """Call sink(topic, payload) for every retained message on `filters`, then return.
        The end is known without waiting a guessed time: subscribed at QoS 0 the retained
        messages are written before the SUBACK of a second SUBSCRIBE on the same
        connection (mosquitto handles one client's packets in order)."""
        with self._lock:
            self._sink = sink
        try:
            self._subscribe([(f, 0) for f in filters])
            self._subscribe([(f"{PREFIX}/end-of-retained", 0)])  # granted or not: a marker
        finally:
            with self._lock:
                self._sink = None
            self.client.unsubscribe(filters + [f"{PREFIX}/end-of-retained"])

    def watch(self, filters: list[str], sink: Any) -> None:
        """Keep calling sink for messages on `filters` (retained ones first) until unwatch."""
        with self._lock:
            self._sink = sink
        self._subscribe([(f, 1) for f in filters])

    def unwatch(self, filters: list[str]) -> None:
        with self._lock:
            self._sink = None
        self.client.unsubscribe(filters)

    def publish(self, topic: str, payload: bytes | str, retain: bool = True) -> Any:
        return self.client.publish(topic, payload, qos=1, retain=retain)

    def wait(self, infos: list[Any]) -> None:
        for info in infos:
            info.wait_for_publish(self.timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_chunks(pub: Publisher, sites: set[str], ref: dict[str, Any], archive: bytes) -> None:
    """The archive's chunks, retained, once per site; returns when the broker has them all
    (a pointer must never reach a sign before its chunks are on the broker)."""
    chunk = ref["chunk"]
    infos = [pub.publish(chunk_topic(site, ref["sha256"], i), archive[i * chunk:(i + 1) * chunk])
             for site in sorted(sites) for i in range(ref["chunks"])]
    meta = json.dumps({k: ref[k] for k in PACKAGE_FIELDS})
    infos += [pub.publish(meta_topic(site, ref["sha256"]), meta) for site in sorted(sites)]
    pub.wait(infos)


def publish_pointers(pub: Publisher, pointers: dict[tuple[str, str], dict[str, Any]]) -> None:
    pub.wait([pub.publish(pointer_topic(s, n), json.dumps(p)) for (s, n), p in pointers.items()])


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else None
    except ValueError:
        return None


def current_pointers(pub: Publisher) -> dict[tuple[str, str], dict[str, Any]]:
    """Every sign's retained pointer (unverified: the publisher's own messages)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}

    def sink(topic: str, payload: bytes) -> None:
        parts, body = topic.split("/"), _json(payload)
        if len(parts) == 5 and isinstance(body, dict):
            found[(parts[2], parts[3])] = body

    pub.retained([f"{PREFIX}/+/+/content"], sink)
    return found


def clear_unreferenced(pub: Publisher, sites: set[str]) -> list[str]:
    """Empty the retained chunks of every package in `sites` that no pointer names (neither
    as its package nor as its `previous`). Returns "site:sha12" per package cleared.
    Packages are found by their small `meta` message (chunk count), so no chunk is read."""
    keep: set[tuple[str, str]] = set()
    for (site, _node), p in current_pointers(pub).items():
        keep.add((site, str(p.get("sha256"))))
        if isinstance(p.get("previous"), dict):
            keep.add((site, str(p["previous"].get("sha256"))))
    stored: dict[tuple[str, str], int] = {}

    def meta(topic: str, payload: bytes) -> None:
        parts, body = topic.split("/"), _json(payload)
        chunks = body.get("chunks") if isinstance(body, dict) else None
        if len(parts) == 6 and isinstance(chunks, int) and 0 < chunks <= MAX_PACKAGE:
            stored[(parts[2], parts[4])] = chunks

    pub.retained([f"{PREFIX}/{site}/content/+/meta" for site in sorted(sites)], meta)
    cleared = []
    for (site, sha), chunks in sorted(stored.items()):
        if (site, sha) in keep:
            continue
        # Chunks first, the meta last: an interrupted run is finished by the next one.
        pub.wait([pub.publish(chunk_topic(site, sha, i), b"") for i in range(chunks)])
        pub.wait([pub.publish(meta_topic(site, sha), b"")])
        cleared.append(f"{site}:{sha[:12]}")
    return cleared


def content_status(pub: Publisher) -> list[dict[str, Any]]:
    """Per sign: the pointer published to it and the state its bridge reported."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def sink(topic: str, payload: bytes) -> None:
        parts, body = topic.split("/"), _json(payload)
        if len(parts) < 5 or parts[4] != "content" or not isinstance(body, dict):
            return
        row = rows.setdefault((parts[2], parts[3]), {"site": parts[2], "node": parts[3]})
        row["state" if len(parts) == 6 else "published"] = body

    pub.retained([f"{PREFIX}/+/+/content", f"{PREFIX}/+/+/content/state"], sink)
    return [rows[k] for k in sorted(rows)]
