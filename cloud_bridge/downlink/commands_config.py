"""The optional `[commands]` section: how a node runs remote commands (docs/operations.md).

    [commands]
    public_key = "command_signing.pub.pem"  # when set, only Ed25519-signed commands run
    restart_command = ["systemctl", "--no-block", "restart", "{service}"]
    services = ["walkway-edge", "walkway-bridge", "walkway-signage"]  # `restart` may name
    apply_restart = ["walkway-edge"]   # restarted by set-config (and restarted on rollback)
    apply_timeout_s = 60     # the edge must come up healthy with a new config within this
    healthy_for_s = 4        # ... and stay healthy this long, or the old config comes back
    screenshot_timeout_s = 10
"""

from dataclasses import dataclass
from pathlib import Path

from walkway.config_table import ConfigTable

SERVICE_PATTERN = r"walkway-[a-z0-9-]{1,40}"
DEFAULT_SERVICES = ("walkway-edge", "walkway-bridge", "walkway-signage")


@dataclass(frozen=True)
class CommandsConfig:
    public_key: Path | None = None
    restart_command: tuple[str, ...] = ("systemctl", "--no-block", "restart", "{service}")
    services: tuple[str, ...] = DEFAULT_SERVICES
    apply_restart: tuple[str, ...] = ("walkway-edge",)
    apply_timeout_s: float = 60.0
    healthy_for_s: float = 4.0
    screenshot_timeout_s: float = 10.0


def _strings(t: ConfigTable, name: str, default: tuple[str, ...], pattern: str | None,
             what: str) -> tuple[str, ...]:
    import re

    value = t.array(name, list(default), what=what)
    if not all(isinstance(v, str) and (pattern is None or re.fullmatch(pattern, v))
               for v in value):
        t.problem(name, what, value)
        return default
    return tuple(value)


def parse_section(t: ConfigTable) -> CommandsConfig:
    restart = _strings(t, "restart_command", CommandsConfig.restart_command, None,
                       "a non-empty list of strings (argv; {service} is replaced)")
    if not restart:
        t.problem("restart_command", "a non-empty list of strings", [])
        restart = CommandsConfig.restart_command
    services = _strings(t, "services", DEFAULT_SERVICES, SERVICE_PATTERN,
                        f"a list of unit names matching {SERVICE_PATTERN}")
    apply_restart = _strings(t, "apply_restart", ("walkway-edge",), SERVICE_PATTERN,
                             f"a list of unit names matching {SERVICE_PATTERN}")
    cfg = CommandsConfig(
        public_key=t.path("public_key", None, must_exist=True),
        restart_command=restart,
        services=services,
        apply_restart=apply_restart,
        apply_timeout_s=t.number("apply_timeout_s", 60.0, min=1, max=3600),
        healthy_for_s=t.number("healthy_for_s", 4.0, min=0, max=600),
        screenshot_timeout_s=t.number("screenshot_timeout_s", 10.0, min=0.5, max=600),
    )
    t.finish()
    return cfg


def commands_config(config: object) -> CommandsConfig:
    """The node's [commands] settings, defaults when the section is absent."""
    return config.section("commands") or CommandsConfig()  # type: ignore[attr-defined]
