"""Apply a new node config safely: validate, replace atomically, restart, watch, roll back.

1. The text is written next to the config and validated with `edge.config` (same folder,
   so relative paths mean the same); the node id and site must not change.
2. The current file is kept as `node.toml.prev`, the new one moved in with os.replace
   (a power cut leaves either the old or the new file, never half of one).
3. The services in [commands] apply_restart are restarted through the restart hook.
4. Healthy = the edge's heartbeat in the store names the new config's sha256, comes from a
   process started after the apply, and every configured source reported ok/idle/degraded
   since then; it must hold for healthy_for_s. Not within apply_timeout_s: the previous
   file is moved back (the failed one kept as `node.toml.rejected`) and the services are
   restarted again, so a config that validates but does not run cannot strand a node.
"""

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cloud_bridge.downlink.commands_config import CommandsConfig
from edge.config import Config, load_config
from edge.health import LIVE_STATES
from edge.store import Store
from walkway.errors import ConfigError
from walkway.files import write_atomic

Restart = Callable[[str], None]


class ApplyRefused(ValueError):
    """The new config is not acceptable; nothing was changed."""


def _mode(path: Path) -> int:
    """The config's own permissions: it may hold broker credentials (keep 0600 if it was)."""
    return stat.S_IMODE(path.stat().st_mode)


def validate_text(current: Config, text: str) -> Config:
    """Validate `text` as a config living where the current one does. Raises ApplyRefused."""
    path = current.file
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-check-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
        try:
            new = load_config(tmp)
        except ConfigError as exc:
            problems = [p.replace(str(Path(tmp).resolve()), str(path)).replace(tmp, str(path))
                        for p in exc.problems]
            raise ApplyRefused("; ".join(problems)) from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    if (new.node.id, new.node.site) != (current.node.id, current.node.site):
        raise ApplyRefused(
            f"node.id/node.site: expected {current.node.id}/{current.node.site} unchanged, "
            f"got {new.node.id}/{new.node.site}")
    return new


@dataclass
class PendingApply:
    command_id: str
    sha256: str
    previous_sha256: str
    applied_at: float  # the edge's clock
    deadline: float  # real time
    healthy_since: float | None = None
    last_problem: str = "the edge has not reported since the restart"


def apply_config(current: Config, text: str, cc: CommandsConfig, restart: Restart,
                 command_id: str, now: float, *, deadline: float) -> PendingApply:
    """Steps 1-3. `now`: the edge's clock (its heartbeat must be newer); `deadline`: real
    time. Raises ApplyRefused (nothing changed), OSError or RuntimeError (restored)."""
    new = validate_text(current, text)
    path = current.file
    previous = path.read_bytes()
    mode = _mode(path)
    write_atomic(path.with_name(path.name + ".prev"), previous, mode)
    write_atomic(path, text.encode("utf-8"), mode)
    pending = PendingApply(command_id, new.sha256, hashlib.sha256(previous).hexdigest(), now,
                           deadline)
    try:
        for service in cc.apply_restart:
            restart(service)
    except RuntimeError as exc:
        # The new file must not stay in place when it could not even be started.
        rollback(path, cc, restart)
        raise RuntimeError(f"restart failed, previous config restored: {exc}") from exc
    return pending


def edge_problem(store: Store, config: Config, pending: PendingApply) -> str | None:
    """None when the edge runs the new config with every source up, else what is wrong."""
    beat = store.get_state("edge")
    if beat is None:
        return "the edge has never reported"
    value, _at = beat
    started = float(value.get("started_at") or 0)
    if value.get("config_sha256") != pending.sha256 or started < pending.applied_at - 1:
        return "the edge has not restarted with the new config"
    if value.get("stopped"):
        return "the edge stopped"
    statuses = {name: (status, at) for name, status, at in store.source_statuses()}
    for spec in config.sources:
        status, at = statuses.get(spec.name, (None, None))
        body = json.loads(status) if status else {}
        if at is None or at < started:
            return f"source {spec.name}: no status since the restart"
        if body.get("state") not in LIVE_STATES:
            reason = body.get("reason") or "no reason given"
            return f"source {spec.name}: {body.get('state')} ({reason})"
    return None


def rollback(config_file: Path, cc: CommandsConfig, restart: Restart) -> None:
    """Put node.toml.prev back (keeping the failed file as .rejected) and restart."""
    prev = config_file.with_name(config_file.name + ".prev")
    mode = _mode(config_file)
    write_atomic(config_file.with_name(config_file.name + ".rejected"),
                 config_file.read_bytes(), mode)
    write_atomic(config_file, prev.read_bytes(), mode)
    for service in cc.apply_restart:
        restart(service)
