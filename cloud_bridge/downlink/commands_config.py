"""The optional `[commands]` section: how a node runs remote commands. Keys: COMMANDS_KEYS
below (the table in docs/operations.md)."""

from dataclasses import dataclass
from pathlib import Path

from walkway.config_table import ConfigTable
from walkway.keys import Key, KeySpec

SERVICE_PATTERN = r"walkway-[a-z0-9-]{1,40}"


COMMANDS_KEYS = KeySpec("commands", [
    Key("public_key", "path", None, "set: only Ed25519-signed commands run (PEM public key)",
        must_exist=True),
    Key("restart_command", "list", ("systemctl", "--no-block", "restart", "{service}"),
        "argv of the restart hook; `{service}` is replaced",
        what="a non-empty list of strings (argv; {service} is replaced)"),
    Key("services", "list", ("walkway-edge", "walkway-bridge", "walkway-signage"),
        "the units `restart` may name", what=f"a list of unit names matching {SERVICE_PATTERN}"),
    Key("apply_restart", "list", ("walkway-edge",), "restarted by set-config (and again on "
        "rollback); add walkway-signage for signage keys",
        what=f"a list of unit names matching {SERVICE_PATTERN}"),
    Key("apply_timeout_s", "number", 60.0, "the edge must come up healthy with a new config "
        "within this", min=1, max=3600),
    Key("healthy_for_s", "number", 4.0, "... and stay healthy this long, or the old config "
        "comes back", min=0, max=600),
    Key("screenshot_timeout_s", "number", 10.0, "how long `screenshot` waits for the player",
        min=0.5, max=600),
])
D = COMMANDS_KEYS.default


@dataclass(frozen=True)
class CommandsConfig:
    public_key: Path | None = D("public_key")
    restart_command: tuple[str, ...] = D("restart_command")
    services: tuple[str, ...] = D("services")
    apply_restart: tuple[str, ...] = D("apply_restart")
    apply_timeout_s: float = D("apply_timeout_s")
    healthy_for_s: float = D("healthy_for_s")
    screenshot_timeout_s: float = D("screenshot_timeout_s")


def _strings(t: ConfigTable, name: str, pattern: str | None) -> tuple[str, ...]:
    import re

    key = COMMANDS_KEYS[name]
    value = t.read(key)
    if not all(isinstance(v, str) and (pattern is None or re.fullmatch(pattern, v))
               for v in value):
        t.problem(name, key.what, value)
        return key.default
    return tuple(value)


def parse_section(t: ConfigTable) -> CommandsConfig:
    restart = _strings(t, "restart_command", None)
    if not restart:
        t.problem("restart_command", "a non-empty list of strings", [])
        restart = D("restart_command")
    k = COMMANDS_KEYS
    cfg = CommandsConfig(
        public_key=t.read(k["public_key"]),
        restart_command=restart,
        services=_strings(t, "services", SERVICE_PATTERN),
        apply_restart=_strings(t, "apply_restart", SERVICE_PATTERN),
        apply_timeout_s=t.read(k["apply_timeout_s"]),
        healthy_for_s=t.read(k["healthy_for_s"]),
        screenshot_timeout_s=t.read(k["screenshot_timeout_s"]),
    )
    t.finish()
    return cfg


def commands_config(config: object) -> CommandsConfig:
    """The node's [commands] settings, defaults when the section is absent."""
    return config.section("commands") or CommandsConfig()  # type: ignore[attr-defined]
