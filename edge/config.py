"""A node's TOML config, validated into typed, frozen objects.

Every daemon loads its config through `load_config`, which reports ALL problems at once,
one line each (`FILE: KEY: expected WHAT, got VALUE`), as a `ConfigError`.
Optional sections owned by other packages are listed in EXTRA_SECTIONS; each module
provides `parse_section(table: ConfigTable) -> object`.
"""

import hashlib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from edge.store import STORE_KEYS
from sensors.registry import SOURCE_TYPES, source_module
from walkway import safetoml
from walkway.config_table import ConfigTable
from walkway.errors import ConfigError
from walkway.keys import Key, KeySpec
from walkway.records import NODE_ID_PATTERN

NAME_PATTERN = r"[a-z0-9][a-z0-9_.-]{0,39}"

EXTRA_SECTIONS = MappingProxyType(
    {
        "health": "edge.health_config",
        "commands": "cloud_bridge.downlink.commands_config",
        "content_fetch": "cloud_bridge.content_fetch_config",
        "signage": "signage_player.config",
        "tls": "provisioning.node_tls",
    }
)


@dataclass(frozen=True)
class NodeConfig:
    id: str
    site: str


MQTT_KEYS = KeySpec("mqtt", [
    Key("url", "text", "mqtt://127.0.0.1:1883", "`mqtt://` or `mqtts://` (TLS; client "
        "certificate from `[tls]`)", what="an mqtt:// or mqtts:// URL"),
    Key("batch_bins", "integer", 200, "bins per counts message", min=1, max=2000),
    Key("window", "integer", 16, "messages in flight awaiting the collector's ack",
        min=1, max=1000),
    Key("ack_timeout_s", "number", 15.0, "a message not acknowledged by then is sent again",
        min=0.1),
    Key("keepalive_s", "integer", 30, "MQTT keepalive", min=5, max=3600),
])


@dataclass(frozen=True)
class StoreConfig:
    path: Path
    bin_seconds: int = STORE_KEYS.default("bin_seconds")
    grace_seconds: int = STORE_KEYS.default("grace_seconds")
    max_mb: float = STORE_KEYS.default("max_mb")
    keep_delivered_hours: float = STORE_KEYS.default("keep_delivered_hours")
    prune_every_s: float = STORE_KEYS.default("prune_every_s")


@dataclass(frozen=True)
class MqttConfig:
    url: str
    host: str
    port: int
    tls: bool
    batch_bins: int = MQTT_KEYS.default("batch_bins")
    window: int = MQTT_KEYS.default("window")
    ack_timeout_s: float = MQTT_KEYS.default("ack_timeout_s")
    keepalive_s: int = MQTT_KEYS.default("keepalive_s")


@dataclass(frozen=True)
class SourceSpec:
    type: str
    name: str
    options: Any


@dataclass(frozen=True)
class Config:
    file: Path
    node: NodeConfig
    store: StoreConfig
    mqtt: MqttConfig
    sources: tuple[SourceSpec, ...]
    sections: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    sha256: str = ""

    def section(self, name: str) -> Any:
        """An optional section's parsed object, or None when absent."""
        return self.sections.get(name)


def _parse_mqtt(t: ConfigTable) -> MqttConfig:
    k = MQTT_KEYS
    url = t.read(k["url"])
    try:
        parts = urlsplit(url or "")
    except ValueError:  # e.g. "mqtt://[::1" (an unclosed IPv6 bracket)
        parts = urlsplit("")
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        t.problem("url", "an mqtt:// or mqtts:// URL with a host", url)
        host, port, tls = "127.0.0.1", 1883, False
    else:
        tls = parts.scheme == "mqtts"
        host = parts.hostname
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            t.problem("url", "a port number from 1 to 65535", url)
            port = 1883
    return MqttConfig(
        url=url,
        host=host,
        port=port,
        tls=tls,
        batch_bins=t.read(k["batch_bins"]),
        window=t.read(k["window"]),
        ack_timeout_s=t.read(k["ack_timeout_s"]),
        keepalive_s=t.read(k["keepalive_s"]),
    )


def _parse_sources(root: ConfigTable) -> tuple[SourceSpec, ...]:
    specs: list[SourceSpec] = []
    names: set[str] = set()
    for t in root.tables("sources"):
        kind = t.text("type", choices=SOURCE_TYPES.keys(), what="a source type")
        name = t.text("name", kind, pattern=NAME_PATTERN, what="a source name")
        if name in names:
            t.problem("name", "a name unique among sources", name)
        names.add(name)
        options = None
        if kind in SOURCE_TYPES:
            options = source_module(kind).parse_options(t)
        t.finish()
        specs.append(SourceSpec(type=kind, name=name, options=options))
    return tuple(specs)


def parse_config(file: Path, data: dict[str, Any]) -> Config:
    problems: list[str] = []
    root = ConfigTable(file, "", data, problems)
    node_t = root.table("node", required=True)
    node = NodeConfig(
        id=node_t.text("id", pattern=NODE_ID_PATTERN, what="a node id"),
        site=node_t.text("site", pattern=NODE_ID_PATTERN, what="a site id"),
    )
    node_t.finish()
    store_t = root.table("store", required=True)
    store = StoreConfig(
        path=store_t.read(STORE_KEYS["path"]),
        bin_seconds=store_t.read(STORE_KEYS["bin_seconds"]),
        grace_seconds=store_t.read(STORE_KEYS["grace_seconds"]),
        max_mb=store_t.read(STORE_KEYS["max_mb"]),
        keep_delivered_hours=store_t.read(STORE_KEYS["keep_delivered_hours"]),
        prune_every_s=store_t.read(STORE_KEYS["prune_every_s"]),
    )
    store_t.finish()
    mqtt_t = root.table("mqtt", required=True)
    mqtt = _parse_mqtt(mqtt_t)
    mqtt_t.finish()
    sources = _parse_sources(root)
    sections = {}
    for name, module in EXTRA_SECTIONS.items():
        if root.has(name):
            sections[name] = importlib.import_module(module).parse_section(root.table(name))
    if mqtt.tls and "tls" not in sections:
        problems.append(
            f"{file}: tls: expected a [tls] section (ca_file, cert_file, key_file) for "
            f"{mqtt.url}: the broker requires the node's client certificate"
        )
    root.finish()
    if problems:
        raise ConfigError(problems)
    return Config(
        file=file,
        node=node,
        store=store,
        mqtt=mqtt,
        sources=sources,
        sections=MappingProxyType(sections),
    )


def load_config(path: str | Path) -> Config:
    """Read and validate a node config. Raises ConfigError listing every problem."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read config: {exc.strerror}"]) from exc
    try:
        data = safetoml.loads(raw.decode("utf-8"))
    except (safetoml.BadToml, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}: expected valid TOML: {exc}"]) from exc
    config = parse_config(file, data)
    return Config(
        **{**config.__dict__, "file": file.resolve(), "sha256": hashlib.sha256(raw).hexdigest()}
    )
