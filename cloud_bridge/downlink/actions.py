"""What each remote command does (the dispatch, idempotency and checks: commands.py).

Each action takes (handler, message) and returns a cmd-result; bad arguments raise
`Rejected` before anything changes.
"""

import base64
import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from cloud_bridge.downlink import toml_dump
from cloud_bridge.downlink.commands_config import CommandsConfig
from cloud_bridge.downlink.config_apply import ApplyRefused, PendingApply, Restart, apply_config
from edge.config import Config
from edge.health import heartbeat, uptime_s
from edge.health_config import health_config
from edge.store import Store
from walkway import __version__
from walkway.errors import UsageError
from walkway.signage_state.player import request_screenshot, screenshot_path
from walkway.timeutil import iso_z, parse_iso

Result = dict[str, Any]
MAX_TOML_BYTES = 200 * 1024
MAX_PNG_BYTES = 180 * 1024  # base64 grows it by a third; the result must fit 256 KiB
CALIBRATION_KEYS = ("roi", "person_size", "far_scale", "min_area", "var_threshold",
                    "deadband", "background_seconds", "detect_every", "dark_level",
                    "bright_level", "flat_std")


class Rejected(ValueError):
    """A command that must not run; the message is the result's reason."""


class CommandHost(Protocol):
    """What an action may use of the handler (cloud_bridge.downlink.commands.CommandHandler)."""

    config: Config
    store: Store
    cc: CommandsConfig
    restart: Restart
    clock: Callable[[], float]  # the node's event time
    wall: Callable[[], float]  # real time
    pending_apply: PendingApply | None
    pending_screenshots: dict[str, float]

    def result(self, cmd_id: str | None, command: str | None, status: str, reason: str = "",
               data: dict[str, Any] | None = None) -> dict[str, Any]: ...


def _args(message: dict[str, Any]) -> dict[str, Any]:
    return message.get("args") or {}


def ping(h: CommandHost, m: dict[str, Any]) -> Result:
    now = h.clock()
    edge = heartbeat(h.store, "edge", now, health_config(h.config).stale_after_s)
    return h.result(m["id"], m["command"], "ok", data={
        "pong": True, "software": __version__, "uptime_s": uptime_s(),
        "config_sha256": h.config.sha256, "edge": edge["state"]})


def show_config(h: CommandHost, m: dict[str, Any]) -> Result:
    raw = h.config.file.read_bytes()  # the file as it is now, even if edited by hand
    # Credentials in a broker URL (mqtt://user:password@host) never leave the node.
    text = re.sub(r"(mqtts?://[^:/@\s\"]+):[^@\s\"]+@", r"\1:***@", raw.decode("utf-8"))
    return h.result(m["id"], m["command"], "ok", data={
        "path": str(h.config.file), "sha256": hashlib.sha256(raw).hexdigest(),
        "toml": text[:MAX_TOML_BYTES]})


def _apply_text(h: CommandHost, m: dict[str, Any], text: str) -> Result:
    if h.pending_apply is not None:
        raise Rejected(f"busy: config from command {h.pending_apply.command_id} is being "
                        "applied")
    if len(text.encode("utf-8")) > MAX_TOML_BYTES:
        raise Rejected(f"args.toml: expected at most {MAX_TOML_BYTES} bytes")
    expect = _args(m).get("if_sha256")
    current = hashlib.sha256(h.config.file.read_bytes()).hexdigest()
    if expect is not None and expect != current:
        raise Rejected(f"args.if_sha256: the config is now {current}, not {expect}")
    now = h.clock()
    try:
        pending = apply_config(h.config, text, h.cc, h.restart, m["id"], now,
                               deadline=h.wall() + h.cc.apply_timeout_s)
    except ApplyRefused as exc:
        raise Rejected(f"invalid config: {exc}") from exc
    except (OSError, RuntimeError) as exc:
        return h.result(m["id"], m["command"], "failed", f"cannot apply: {exc}")
    h.pending_apply = pending
    return h.result(m["id"], m["command"], "accepted",
                    f"applied; waiting up to {h.cc.apply_timeout_s:g} s for the edge to come "
                    "up healthy", data={"sha256": pending.sha256, "applied_at": now,
                                        "previous_sha256": pending.previous_sha256})


def set_config(h: CommandHost, m: dict[str, Any]) -> Result:
    text = _args(m).get("toml")
    if not isinstance(text, str) or not text.strip():
        raise Rejected("args.toml: expected the new config's TOML text")
    return _apply_text(h, m, text)


def _camera_table(h: CommandHost, m: dict[str, Any]) -> tuple[dict, dict]:
    data = tomllib.loads(h.config.file.read_text("utf-8"))
    name = _args(m).get("source")
    for table in data.get("sources", []):
        if table.get("name", table.get("type")) == name:
            if table.get("type") != "camera":
                raise Rejected(f"args.source: {name!r} is a {table.get('type')} source, "
                                "not a camera")
            return data, table
    names = [t.get("name", t.get("type")) for t in data.get("sources", [])]
    raise Rejected(f"args.source: expected one of {names}, got {name!r}")


def move_line(h: CommandHost, m: dict[str, Any]) -> Result:
    args = _args(m)
    points = args.get("points")
    if not (isinstance(points, list) and len(points) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
                    for v in points)):
        raise Rejected("args.points: expected [x1, y1, x2, y2] from 0 to 1")
    data, table = _camera_table(h, m)
    lines = table.get("lines", [])
    line = next((x for x in lines if x.get("name") == args.get("line")), None)
    if line is None:
        names = [x.get("name") for x in lines]
        raise Rejected(f"args.line: expected one of {names}, got {args.get('line')!r}")
    line["points"] = [float(v) for v in points]
    return _apply_text(h, m, toml_dump.dumps(data))


def recalibrate(h: CommandHost, m: dict[str, Any]) -> Result:
    changes = _args(m).get("set")
    if not isinstance(changes, dict) or not changes:
        raise Rejected("args.set: expected a table of calibration keys and values")
    unknown = sorted(set(changes) - set(CALIBRATION_KEYS))
    if unknown:
        raise Rejected(f"args.set: unknown keys {unknown}; expected some of "
                        f"{list(CALIBRATION_KEYS)}")
    data, table = _camera_table(h, m)
    table.update(changes)
    return _apply_text(h, m, toml_dump.dumps(data))


def restart(h: CommandHost, m: dict[str, Any]) -> Result:
    service = _args(m).get("service")
    if service not in h.cc.services:
        raise Rejected(f"args.service: expected one of {list(h.cc.services)}, got {service!r}")
    try:
        h.restart(service)
    except RuntimeError as exc:
        return h.result(m["id"], m["command"], "failed", str(exc))
    return h.result(m["id"], m["command"], "ok", data={"service": service})


def resend(h: CommandHost, m: dict[str, Any]) -> Result:
    since = _args(m).get("since")
    try:
        start = parse_iso(since) if isinstance(since, str) else None
    except ValueError:
        start = None
    if start is None:
        raise Rejected("args.since: expected an ISO 8601 UTC time, e.g. 2026-01-12T07:00:00Z")
    n = h.store.resend_since(start)
    return h.result(m["id"], m["command"], "ok", data={"since": iso_z(start), "bins": n})


def _state_dir(h: CommandHost) -> Path:
    section = h.config.section("signage")
    if section is None:
        raise Rejected("this node has no [signage] section")
    return Path(section.state_dir)


def screenshot(h: CommandHost, m: dict[str, Any]) -> Result:
    state_dir = _state_dir(h)
    request_screenshot(state_dir, m["id"], h.wall())
    h.pending_screenshots[m["id"]] = h.wall() + h.cc.screenshot_timeout_s
    return h.result(m["id"], m["command"], "accepted", "asked the player for a screenshot")


def screenshot_done(h: CommandHost, cmd_id: str) -> Result | None:
    """The final result once the player wrote the PNG, or on timeout; else None."""
    path = screenshot_path(_state_dir(h), cmd_id)
    if path.exists():
        png = path.read_bytes()
        path.unlink()
        if len(png) > MAX_PNG_BYTES:
            return h.result(cmd_id, "screenshot", "failed",
                            f"screenshot of {len(png)} bytes exceeds {MAX_PNG_BYTES}")
        return h.result(cmd_id, "screenshot", "ok", data={
            "png_base64": base64.b64encode(png).decode("ascii"), "bytes": len(png)})
    if h.wall() >= h.pending_screenshots[cmd_id]:
        return h.result(cmd_id, "screenshot", "failed",
                        f"the player did not answer within {h.cc.screenshot_timeout_s:g} s "
                        "(is walkway-signage running?)")
    return None


def emergency_on(h: CommandHost, m: dict[str, Any]) -> Result:
    from walkway.signage_state.emergency import set_emergency

    args = _args(m)
    text, title = args.get("text"), args.get("title") or {}
    if not isinstance(text, dict) or not isinstance(title, dict):
        raise Rejected("args.text: expected {\"ja\": \"...\", \"en\": \"...\"}")
    try:
        set_emergency(_state_dir(h), text, title=title, now=h.clock())
    except UsageError as exc:
        raise Rejected(str(exc)) from exc
    return h.result(m["id"], m["command"], "ok", data={"languages": sorted(text)})


def emergency_off(h: CommandHost, m: dict[str, Any]) -> Result:
    from walkway.signage_state.emergency import clear_emergency

    return h.result(m["id"], m["command"], "ok",
                    data={"was_set": clear_emergency(_state_dir(h))})


ACTIONS: Mapping[str, Callable[[CommandHost, dict[str, Any]], Result]] = MappingProxyType({
    "ping": ping,
    "show-config": show_config,
    "set-config": set_config,
    "move-line": move_line,
    "recalibrate": recalibrate,
    "restart": restart,
    "resend": resend,
    "screenshot": screenshot,
    "emergency-on": emergency_on,
    "emergency-off": emergency_off,
})
