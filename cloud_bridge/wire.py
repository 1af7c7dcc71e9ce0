"""The wire format: build and check versioned JSON payloads (schemas in cloud_bridge/schemas/,
shipped as package data).

Validation uses fastjsonschema, which compiles each schema file into Python once, so the
collector can check every message at broker speed.
"""

import json
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from walkway import __version__
from walkway.records import COUNT
from walkway.resources import package_file
from walkway.timeutil import iso_z

SCHEMA_DIR = package_file("cloud_bridge", "schemas")  # shipped in the wheel
MAX_PAYLOAD_BYTES = 256 * 1024


class WireBin(Protocol):
    """One outbox bin as the wire needs it (edge.store.OutboxBin is one); `kind` is
    walkway.records.COUNT or MEASURE, `direction` holds the quantity of a measure."""

    @property
    def sensor(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def seconds(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def vsum(self) -> float | None: ...
    @property
    def vmin(self) -> float | None: ...
    @property
    def vmax(self) -> float | None: ...


class InvalidPayload(ValueError):
    """A payload that is not JSON, not an object, too large, or does not match its schema."""


def new_msg_id() -> str:
    return uuid.uuid4().hex


def dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def counts_message(site: str, node: str, bins: Sequence[WireBin], now: float,
                   msg: str | None = None) -> tuple[str, bytes]:
    counts, measures = [], []
    starts: dict[int, str] = {}
    for b in bins:
        start = starts.get(b.start) or starts.setdefault(b.start, iso_z(b.start))
        if b.kind == COUNT:
            counts.append({"sensor": b.sensor, "start": start, "seconds": b.seconds,
                           "direction": b.direction, "count": b.count, "version": b.version})
        else:
            measures.append({"sensor": b.sensor, "start": start, "seconds": b.seconds,
                             "quantity": b.direction, "n": b.count, "min": b.vmin,
                             "mean": (b.vsum or 0.0) / max(b.count, 1), "max": b.vmax,
                             "version": b.version})
    msg = msg or new_msg_id()
    body: dict[str, Any] = {"v": 1, "type": "counts", "msg": msg, "site": site, "node": node,
                            "sent": iso_z(now), "bins": counts}
    if measures:
        body["measures"] = measures
    return msg, dumps(body)


def ack_message(msg: str, status: str, stored: int = 0, reason: str = "") -> bytes:
    body: dict[str, Any] = {"v": 1, "type": "ack", "msg": msg, "status": status, "stored": stored}
    if reason:
        body["reason"] = reason[:300]
    return dumps(body)


def status_message(node: str, state: str, now: float) -> bytes:
    return dumps({"v": 1, "type": "status", "node": node, "state": state, "at": iso_z(now),
                  "software": __version__})


def _inline_refs(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(root["$defs"][ref.removeprefix("#/$defs/")], root)
        return {k: _inline_refs(v, root) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, root) for v in node]
    return node


class Schemas:
    """Compiled validators for cloud_bridge/schemas/NAME.v1.json, loaded when first needed."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR) -> None:
        self.schema_dir = schema_dir
        self._compiled: dict[str, Callable[[Any], Any]] = {}

    def validator(self, name: str) -> Callable[[Any], Any]:
        if name not in self._compiled:
            import fastjsonschema

            schema = json.loads((self.schema_dir / f"{name}.json").read_text())
            # Local $refs inlined: fastjsonschema's code for a $ref is a function call per
            # value, which made validation 3x slower on 200-bin messages.
            self._compiled[name] = fastjsonschema.compile(_inline_refs(schema, schema))
        return self._compiled[name]

    def decode(self, name: str, payload: bytes) -> dict[str, Any]:
        """Parse and validate; raises InvalidPayload with a one-line reason."""
        import fastjsonschema

        if len(payload) > MAX_PAYLOAD_BYTES:
            raise InvalidPayload(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
        try:
            obj = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidPayload(f"not JSON: {exc}") from exc
        try:
            self.validator(name)(obj)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise InvalidPayload(f"{name}: {exc.message}") from exc
        return obj
