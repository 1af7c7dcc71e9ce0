"""The player's files in the signage state contract (walkway/signage_state/__init__.py).

Both sides live on one node and share `[signage] state_dir`; files are written with
walkway.files.write_atomic so neither side ever reads half a file.

- `player.json`: the player's heartbeat, rewritten every few seconds while it draws:
  {"at": epoch, "state": "ok"|"degraded"|"no-display", "reason": "...", "frames": N,
   "scene": "...", "content": {"id", "version", "digest", "since"} or null}. Health
  reports the sign as "stalled" when it is older than [health] signage_stale_s, "absent"
  when it was never written.
- `screenshot.request`: {"id": command id, "at": epoch}, written by the `screenshot`
  command; the player answers with `screenshot-{id}.png` (scaled to at most 640 px wide,
  so the result fits an MQTT message) and removes the request.
"""

import json
import re
from pathlib import Path

from walkway.files import write_atomic

HEARTBEAT = "player.json"
SCREENSHOT_REQUEST = "screenshot.request"
SAFE_ID = r"[A-Za-z0-9_-]{1,64}"


def write_heartbeat(state_dir: str | Path, *, state: str, now: float, reason: str = "",
                    frames: int = 0, scene: str = "", content: dict | None = None) -> None:
    """Player side: call every few seconds while drawing (and with the real state)."""
    body = {"at": now, "state": state, "reason": reason, "frames": frames, "scene": scene,
            "content": content}
    # Rewritten every few seconds: atomic, but not fsynced (a lost beat is harmless).
    write_atomic(Path(state_dir) / HEARTBEAT, json.dumps(body), durable=False)


def read_heartbeat(state_dir: str | Path) -> dict | None:
    try:
        body = json.loads((Path(state_dir) / HEARTBEAT).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) and isinstance(body.get("at"), int | float) else None


def screenshot_path(state_dir: str | Path, command_id: str) -> Path:
    if not re.fullmatch(SAFE_ID, command_id):
        raise ValueError(f"command id {command_id!r} is not safe in a file name")
    return Path(state_dir) / f"screenshot-{command_id}.png"


def request_screenshot(state_dir: str | Path, command_id: str, now: float) -> Path:
    """Operations side: ask the player for a screenshot; returns where it will appear."""
    path = screenshot_path(state_dir, command_id)
    body = json.dumps({"id": command_id, "at": now}).encode()
    write_atomic(Path(state_dir) / SCREENSHOT_REQUEST, body)
    return path


def pending_screenshot(state_dir: str | Path) -> str | None:
    """Player side: the id of a requested screenshot, or None."""
    try:
        body = json.loads((Path(state_dir) / SCREENSHOT_REQUEST).read_text("utf-8"))
        command_id = str(body["id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return command_id if re.fullmatch(SAFE_ID, command_id) else None


def answer_screenshot(state_dir: str | Path, command_id: str, png: bytes) -> Path:
    """Player side: store the PNG for the request and clear the request."""
    path = screenshot_path(state_dir, command_id)
    write_atomic(path, png)
    (Path(state_dir) / SCREENSHOT_REQUEST).unlink(missing_ok=True)
    return path
