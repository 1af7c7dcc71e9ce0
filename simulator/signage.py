"""Signage: the real player on nodes whose plan has `signage = true`.

With a display (DISPLAY or WAYLAND_DISPLAY set, SDL_VIDEODRIVER not), the first such node's
player runs in a window for the whole run. In every case the player also runs offscreen
(SDL_VIDEODRIVER=dummy) for a second at a few moments of the run and its last frame is kept
as a PNG in OUT/signage/, reading the node's own edge store like the real sign does.
"""

import importlib.util
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from simulator.procs import Proc, child_env
from walkway.resources import package_file

CONTENT = package_file("signage_player", "example_content", "sapporo")
MOMENTS = (0.45, 0.85)  # fractions of the scenario at which snapshots are taken
SIZE = (960, 540)


def available() -> bool:
    try:
        return (importlib.util.find_spec("signage_player.cli") is not None
                and importlib.util.find_spec("signage_player.player") is not None
                and CONTENT.is_dir())
    except ModuleNotFoundError:
        return False


def section(node: Any) -> str:
    """The `[signage]` table for a node config ('' when the node has no sign)."""
    if not node.plan.signage or not available():
        return ""
    kind = "underground" if node.plan.area == "underground" else "suburban"
    # Each sign says where it stands; without it every sign is at the package's default.
    where = f'location = "{node.plan.sign_location}"\n' if node.plan.sign_location else ""
    if node.plan.checkin:  # simulator/phones.py made the key before the config is written
        where += f'checkin_key = "{node.dir / "checkin-key.pem"}"\n'
    return (f'\n[signage]\ncontent = "{CONTENT}"\nstate_dir = "signage-state"\n'
            f"width = {SIZE[0]}\nheight = {SIZE[1]}\nfullscreen = false\n"
            f'sign_kind = "{kind}"\nfps = 15\n{where}')


def has_display() -> bool:
    env = os.environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")) and not env.get(
        "SDL_VIDEODRIVER")


class Snapshots:
    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.todo = list(MOMENTS)
        self.running: list[tuple[Proc, Path]] = []
        self.window: Proc | None = None
        self.window_tried = False

    def _window(self) -> None:
        """A windowed player for the first signage node, when there is a display."""
        r = self.runner
        node = next((n for n in r.nodes.values() if n.plan.signage), None)
        if node is None or not has_display() or not available():
            return
        env = child_env(r.clock.env_value())
        env.pop("SDL_VIDEODRIVER", None)  # child_env defaults to offscreen
        self.window = Proc(f"{node.id}/signage-window", ["signage", "run", "--config",
                                                         str(node.config)],
                           r.out / "logs" / f"{node.id}-signage-window.log", env).start()

    def poll(self) -> None:
        r = self.runner
        sc = r.scenario
        if r.clock is None:
            return
        if not self.window_tried:
            self.window_tried = True
            self._window()
        if not self.todo:
            return
        if r.clock() < sc.start + self.todo[0] * (sc.end - sc.start):
            return
        moment = self.todo.pop(0)
        if not available():
            if not self.todo:
                r.notes.append("signage: player not in this checkout; no snapshots")
            return
        folder = r.out / "signage"
        folder.mkdir(exist_ok=True)
        env = child_env(r.clock.env_value())
        for node in r.nodes.values():
            if not node.plan.signage or node.down:
                continue
            png = folder / f"{node.id}-{int(moment * 100):02d}.png"
            proc = Proc(f"{node.id}/signage", ["signage", "run", "--config", str(node.config),
                                               "--frames", "20", "--screenshot", str(png)],
                        r.out / "logs" / f"{node.id}-signage.log", env).start()
            self.running.append((proc, png))

    def close_window(self) -> None:
        if self.window is not None:
            self.window.terminate(5)
            self.window = None

    def finish(self, timeout: float = 30.0) -> None:
        self.close_window()
        deadline = time.monotonic() + timeout
        for proc, png in self.running:
            assert proc.proc is not None
            try:
                proc.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.terminate(2)
            if png.exists():
                self.runner.snapshots.append(png)
            else:
                self.runner.notes.append(f"signage: no snapshot from {proc.name}; see "
                                         f"logs/{proc.log.name}")
