"""The optional `[health]` section: how often the bridge publishes health, and when a
heartbeat counts as stale. Keys: HEALTH_KEYS below (the table in docs/operations.md)."""

from dataclasses import dataclass

from walkway.config_table import ConfigTable
from walkway.keys import Key, KeySpec

HEALTH_KEYS = KeySpec("health", [
    Key("every_s", "number", 60.0, "health on .../health this often", min=0.1, max=86400),
    Key("stale_after_s", "number", 10.0, "a source or edge heartbeat older than this: "
        "stalled / down", min=1, max=86400),
    Key("write_stale_s", "number", 30.0, "edge and bridge watchdogs: a store write must "
        "succeed this often", min=1, max=86400),
    Key("loop_stale_s", "number", 30.0, "bridge watchdog: the MQTT loop must complete this "
        "often", min=1, max=86400),
    Key("signage_stale_s", "number", 15.0, "the player's heartbeat older than this: stalled",
        min=1, max=86400),
    Key("disk_min_free_pct", "number", 10.0, "selftest fails below this free disk share",
        min=0, max=100),
    Key("cert_min_days", "number", 14.0, "selftest fails when the node certificate expires "
        "sooner", min=0, max=3650),
])
D = HEALTH_KEYS.default


@dataclass(frozen=True)
class HealthConfig:
    every_s: float = D("every_s")
    stale_after_s: float = D("stale_after_s")
    write_stale_s: float = D("write_stale_s")
    loop_stale_s: float = D("loop_stale_s")
    signage_stale_s: float = D("signage_stale_s")
    disk_min_free_pct: float = D("disk_min_free_pct")
    cert_min_days: float = D("cert_min_days")


def parse_section(t: ConfigTable) -> HealthConfig:
    cfg = HealthConfig(**{key.name: t.read(key) for key in HEALTH_KEYS})
    t.finish()
    return cfg


def health_config(config: object) -> HealthConfig:
    """The node's [health] settings, defaults when the section is absent."""
    return config.section("health") or HealthConfig()  # type: ignore[attr-defined]
