"""The player's side of the operations contract (walkway/signage_state/, docs/operations.md):
a heartbeat file every check, and screenshots on request (the remote `screenshot` command)."""

import io
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SCREENSHOT_MAX_W = 640  # fits one MQTT message


def playing(package: Any, state_dir: Path) -> dict[str, Any]:
    """What the heartbeat (and so health telemetry) says about the package on screen."""
    import os
    from datetime import UTC, datetime

    link = Path(state_dir) / "content" / "current"
    try:
        since = datetime.fromtimestamp(os.lstat(link).st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OSError:
        since = None
    return {"id": package.id, "version": package.version, "digest": package.digest[:12],
            "since": since}


def heartbeat(state_dir: Path, now: float, *, frames: int, scene: str, problem: str,
              content: dict[str, Any] | None = None) -> None:
    from walkway.signage_state.player import write_heartbeat

    try:
        write_heartbeat(
            state_dir,
            state="degraded" if problem else "ok",
            now=now,
            reason=problem,
            frames=frames,
            scene=scene,
            content=content,
        )
    except OSError as exc:
        log.warning("signage: cannot write heartbeat: %s", exc)


def answer_screenshot(state_dir: Path, screen: Any) -> str | None:
    """If a screenshot was requested, save the screen (scaled down) for it; returns its id."""
    import pygame

    from walkway.signage_state.player import answer_screenshot as answer
    from walkway.signage_state.player import pending_screenshot

    command_id = pending_screenshot(state_dir)
    if command_id is None or screen is None:
        return None
    w, h = screen.get_size()
    scale = min(1.0, SCREENSHOT_MAX_W / w)
    small = pygame.transform.smoothscale(screen, (max(1, int(w * scale)), max(1, int(h * scale))))
    buffer = io.BytesIO()
    pygame.image.save(small, buffer, "screenshot.png")
    try:
        answer(state_dir, command_id, buffer.getvalue())
    except OSError as exc:
        log.warning("signage: cannot answer screenshot %s: %s", command_id, exc)
    return command_id
