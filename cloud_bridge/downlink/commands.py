"""Remote commands on the node (walkway/v1/{site}/{node}/cmd -> .../cmd/result).

The bridge hands every payload to `CommandHandler.handle` and publishes what it returns;
`tick()` returns results of commands that finish later (set-config after its health
check, screenshot once the player answered). Payloads: cloud_bridge/schemas/cmd.v1.json and
cmd-result.v1.json; the command list: docs/operations.md.

Rules: a command that is malformed, expired, for another node, unknown, badly signed (when
[commands] public_key is set) or has bad arguments gets a `rejected` result and changes
nothing. Every accepted id's result is kept in the store until the command expires, so a
re-delivered command gets the same result again (`replayed: true`) and never runs twice.
"""

import json
import logging
import sqlite3
import subprocess
import time
from collections.abc import Callable
from typing import Any

from cloud_bridge.downlink import actions
from cloud_bridge.downlink.actions import Rejected
from cloud_bridge.downlink.commands_config import commands_config
from cloud_bridge.downlink.config_apply import PendingApply, Restart, edge_problem, rollback
from edge.config import Config
from edge.store import Store
from walkway.errors import StoreError, WalkwayError
from walkway.timeutil import iso_z, parse_iso

log = logging.getLogger(__name__)

MAX_LIFETIME_S = 7 * 24 * 3600
# Commands that apply a new config and are watched until the edge comes up healthy.
APPLYING_COMMANDS = ("set-config", "move-line", "recalibrate")


def restart_with_command(argv: tuple[str, ...]) -> Restart:
    """The production restart hook: e.g. `systemctl --no-block restart {service}`."""

    def restart(service: str) -> None:
        cmd = [a.replace("{service}", service) for a in argv]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"{' '.join(cmd)}: {exc}") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {tail[0][:200]}")

    return restart


class CommandHandler:
    def __init__(self, config: Config, store: Store, *, clock: Callable[[], float] = time.time,
                 wall: Callable[[], float] = time.time, restart: Restart | None = None) -> None:
        self.config = config
        self.store = store
        # clock: the node's event time, as the edge writes its heartbeats (simulated under
        # `walkway sim`); wall: real time, for expiries, timeouts and result stamps.
        self.clock = clock
        self.wall = wall
        self.cc = commands_config(config)
        self.restart = restart or restart_with_command(self.cc.restart_command)
        self.public_key = None
        if self.cc.public_key is not None:
            from provisioning.signing import load_public_key

            self.public_key = load_public_key(self.cc.public_key)
        from cloud_bridge.wire import Schemas

        self.schemas = Schemas()
        self.pending_apply: PendingApply | None = None
        self.pending_screenshots: dict[str, float] = {}  # id -> deadline
        self._resume()

    # -- results ----------------------------------------------------------------------
    def result(self, cmd_id: str | None, command: str | None, status: str, reason: str = "",
               data: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"v": 1, "type": "cmd-result", "id": cmd_id,
                                "site": self.config.node.site, "node": self.config.node.id,
                                "command": command, "status": status, "at": iso_z(self.wall())}
        if reason:
            body["reason"] = reason[:1000]
        if data:
            body["data"] = data
        return body

    def _record(self, message: dict[str, Any], result: dict[str, Any]) -> None:
        self.store.record_command(message["id"], message["command"], self.wall(),
                                  parse_iso(message["expires_at"]), result)

    def _update(self, cmd_id: str, result: dict[str, Any]) -> None:
        self.store.update_command(cmd_id, result)

    def _remembered(self, cmd_id: str) -> dict[str, Any] | None:
        return self.store.command_result(cmd_id)

    # -- intake -----------------------------------------------------------------------
    def _check(self, payload: bytes) -> dict[str, Any]:
        """Parse, verify, validate. Raises Rejected."""
        import fastjsonschema

        try:
            message = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Rejected(f"malformed: not JSON ({exc})") from exc
        if not isinstance(message, dict):
            raise Rejected("malformed: expected a JSON object")
        now = self.wall()
        if self.public_key is not None:
            from provisioning.signing import CommandError, verify_command

            try:
                verify_command(message, self.public_key, now, node=self.config.node.id)
            except CommandError as exc:
                raise Rejected(f"{type(exc).__name__}: {exc}") from exc
        try:
            self.schemas.validator("cmd.v1")(message)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise Rejected(f"malformed: {exc.message}") from exc
        if (message["site"], message["node"]) != (self.config.node.site, self.config.node.id):
            raise Rejected(f"wrong node: this is {self.config.node.site}/{self.config.node.id}")
        expires = parse_iso(message["expires_at"])
        if expires <= now:
            raise Rejected(f"expired at {message['expires_at']}")
        if expires - now > MAX_LIFETIME_S:
            raise Rejected(f"malformed: expires_at more than {MAX_LIFETIME_S} s ahead")
        return message

    def handle(self, payload: bytes) -> list[dict[str, Any]]:
        """Results to publish now for one received command payload."""
        try:
            message = self._check(payload)
        except Rejected as exc:
            cmd_id, command = _peek(payload)
            log.warning("command %s rejected: %s", cmd_id, exc)
            return [self.result(cmd_id, command, "rejected", str(exc))]
        cmd_id, command = message["id"], message["command"]
        self.store.forget_commands(expired_before=self.wall() - 3600)
        seen = self._remembered(cmd_id)
        if seen is not None:
            return [{**seen, "replayed": True}]
        action = actions.ACTIONS.get(command)
        if action is None:
            known = ", ".join(sorted(actions.ACTIONS))
            return [self.result(cmd_id, command, "rejected",
                                f"unknown command {command!r}; expected one of: {known}")]
        try:
            result = action(self, message)
        except Rejected as exc:
            return [self.result(cmd_id, command, "rejected", str(exc))]
        except (OSError, sqlite3.Error, StoreError, RuntimeError) as exc:
            # A command that cannot run must not take the bridge (and the uplink) down.
            result = self.result(cmd_id, command, "failed", f"{type(exc).__name__}: {exc}")
        if result["status"] != "rejected":
            self._record(message, result)
        log.info("command %s %s: %s %s", cmd_id, command, result["status"],
                 result.get("reason", ""))
        return [result]

    # -- later results ----------------------------------------------------------------
    def tick(self) -> list[dict[str, Any]]:
        out = []
        if self.pending_apply is not None:
            done = self._check_apply(self.pending_apply)
            if done is not None:
                out.append(done)
        for cmd_id in list(self.pending_screenshots):
            done = actions.screenshot_done(self, cmd_id)
            if done is not None:
                del self.pending_screenshots[cmd_id]
                self._update(cmd_id, done)
                out.append(done)
        return out

    def _check_apply(self, p: PendingApply) -> dict[str, Any] | None:
        from edge.config import load_config

        now = self.wall()
        try:
            new_config = load_config(self.config.file)
        except WalkwayError as exc:
            problem = f"cannot read the applied config back: {exc}"
        else:
            problem = edge_problem(self.store, new_config, p)
        command = self._remembered(p.command_id) or {}
        if problem is None:
            p.healthy_since = p.healthy_since if p.healthy_since is not None else now
            if now - p.healthy_since < self.cc.healthy_for_s:
                return None
            self.pending_apply = None
            self.config = new_config
            result = self.result(p.command_id, command.get("command"), "ok",
                                 data={"sha256": p.sha256, "previous_sha256": p.previous_sha256})
        else:
            p.healthy_since, p.last_problem = None, problem
            if now < p.deadline:
                return None
            self.pending_apply = None
            try:
                rollback(self.config.file, self.cc, self.restart)
                reason = (f"the edge did not come up healthy within {self.cc.apply_timeout_s:g}"
                          f" s: {problem}; previous config restored")
            except (OSError, RuntimeError) as exc:
                reason = f"{problem}; ROLLBACK FAILED: {exc}"
            result = self.result(p.command_id, command.get("command"), "rolled-back", reason,
                                 data={"sha256": p.sha256, "previous_sha256": p.previous_sha256})
        self._update(p.command_id, result)
        return result

    def _resume(self) -> None:
        """A set-config still `accepted` when the bridge restarted keeps being watched."""
        row = self.store.latest_accepted_command(APPLYING_COMMANDS)
        if row is None:
            return
        cmd_id, result, received_at = row
        data = result.get("data", {})
        self.pending_apply = PendingApply(cmd_id, data.get("sha256", ""),
                                          data.get("previous_sha256", ""),
                                          float(data.get("applied_at", 0)),
                                          received_at + self.cc.apply_timeout_s)


def _peek(payload: bytes) -> tuple[str | None, str | None]:
    """The id and command of a rejected payload, when they can be read at all."""
    try:
        message = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, None
    if not isinstance(message, dict):
        return None, None
    cmd_id, command = message.get("id"), message.get("command")
    ok_id = isinstance(cmd_id, str) and 0 < len(cmd_id) <= 64
    return (cmd_id if ok_id else None,
            command if isinstance(command, str) and len(command) <= 40 else None)
