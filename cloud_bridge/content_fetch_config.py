"""The optional `[content_fetch]` section: how the bridge fetches this sign's content
(cloud_bridge/content_fetch.py). Keys: CONTENT_FETCH_KEYS below (the table in
docs/signage.md). The fetcher runs when `[signage] content_public_key` is set."""

from dataclasses import dataclass

from walkway.config_table import ConfigTable
from walkway.keys import Key, KeySpec

CONTENT_FETCH_KEYS = KeySpec("content_fetch", [
    Key("enabled", "flag", True, "follow this sign's content pointer on the broker (needs "
        "`[signage] content_public_key`)"),
    Key("max_kib_s", "number", 64.0, "bandwidth cap for chunks, KiB/s (token bucket, one "
        "chunk of burst)", min=1, max=100_000),
    Key("chunk_timeout_s", "number", 60.0, "a chunk not delivered within this is asked for "
        "again (and reported)", min=1, max=86400),
    Key("install_timeout_s", "number", 300.0, "`walkway signage install` must finish within "
        "this, or the package is refused", min=5, max=3600),
    Key("probation_s", "number", 60.0, "after an install the player must show the new "
        "package this long with fresh heartbeats, or it failed", min=1, max=86400),
])
D = CONTENT_FETCH_KEYS.default


@dataclass(frozen=True)
class ContentFetchConfig:
    enabled: bool = D("enabled")
    max_kib_s: float = D("max_kib_s")
    chunk_timeout_s: float = D("chunk_timeout_s")
    install_timeout_s: float = D("install_timeout_s")
    probation_s: float = D("probation_s")


def parse_section(t: ConfigTable) -> ContentFetchConfig:
    cfg = ContentFetchConfig(**{key.name: t.read(key) for key in CONTENT_FETCH_KEYS})
    t.finish()
    return cfg


def content_fetch_config(config: object) -> ContentFetchConfig:
    """The node's [content_fetch] settings, defaults when the section is absent."""
    return config.section("content_fetch") or ContentFetchConfig()  # type: ignore[attr-defined]
