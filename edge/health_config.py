"""The optional `[health]` section: how often the bridge publishes health, and when a
heartbeat counts as stale (see docs/operations.md).

    [health]
    every_s = 60            # publish walkway/v1/{site}/{node}/health this often
    stale_after_s = 10      # a source status older than this: the edge is down or stalled
    write_stale_s = 30      # the edge's watchdog pings stop when no store write succeeded
    loop_stale_s = 30       # the bridge's watchdog pings stop when the MQTT loop is stuck
    signage_stale_s = 15    # the signage heartbeat file older than this: player stalled
    disk_min_free_pct = 10  # `walkway selftest` fails below this
    cert_min_days = 14      # `walkway selftest` fails when the node certificate expires sooner
"""

from dataclasses import dataclass

from walkway.config_table import ConfigTable


@dataclass(frozen=True)
class HealthConfig:
    every_s: float = 60.0
    stale_after_s: float = 10.0
    write_stale_s: float = 30.0
    loop_stale_s: float = 30.0
    signage_stale_s: float = 15.0
    disk_min_free_pct: float = 10.0
    cert_min_days: float = 14.0


def parse_section(t: ConfigTable) -> HealthConfig:
    cfg = HealthConfig(
        every_s=t.number("every_s", 60.0, min=0.1, max=86400),
        stale_after_s=t.number("stale_after_s", 10.0, min=1, max=86400),
        write_stale_s=t.number("write_stale_s", 30.0, min=1, max=86400),
        loop_stale_s=t.number("loop_stale_s", 30.0, min=1, max=86400),
        signage_stale_s=t.number("signage_stale_s", 15.0, min=1, max=86400),
        disk_min_free_pct=t.number("disk_min_free_pct", 10.0, min=0, max=100),
        cert_min_days=t.number("cert_min_days", 14.0, min=0, max=3650),
    )
    t.finish()
    return cfg


def health_config(config: object) -> HealthConfig:
    """The node's [health] settings, defaults when the section is absent."""
    return config.section("health") or HealthConfig()  # type: ignore[attr-defined]
