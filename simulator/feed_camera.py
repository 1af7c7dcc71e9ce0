"""Camera feed: rendered walkway clips (simulator/camera_scene.py) through the real counter.

The camera source reads a video file as fast as it can, stamping crossings with the edge's
clock, and with `follow = true` waits at a clip's end for the next file at the same path
(never re-reading the one it counted, however late this feed is). The feed uses exactly that:
it
renders one short clip per sampling slot before the run (crowd density from the demand at
that moment; LEAD_S of empty floor first, as a running camera has learnt its background;
the person size an installer would calibrate), and at the slot's simulated time puts the
clip at the source's path. As soon as the edge process has the file open (seen in
/proc/PID/fd) the path is unlinked; the source reads each clip once. A camera therefore
samples CLIP_S seconds of pedestrians per slot; the truth is the scene generator's exact
crossings of the same clips. "camera covered" puts an all-black clip there instead (the
people still walked: the truth keeps them).
Synthetic renderings, not images of people; they stay in the run's output folder.
"""

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from simulator.feed_base import Feed, FeedContext

if TYPE_CHECKING:
    from simulator.camera_scene import Scene

CLIP_S = 10.0
LEAD_S = 2.0  # empty floor before the people: the background model warms up on it
FPS = 10.0
SIZE = (320, 240)
SLOT_OFFSET_S = 3.0  # clips go in a little after the bin starts, so they count in it
POLL_S = 0.005
LINE = (0.05, 0.5, 0.95, 0.5)
MEAN_GROUP = 5 / 3  # camera_scene's default group sizes (1, 1, 1, 2, 2, 3)


class CameraFeed(Feed):
    def __init__(self, ctx: FeedContext) -> None:
        super().__init__(ctx)
        self.device = ctx.world_dir / f"{self.sensor.name}.mp4"
        self.clip_dir = ctx.world_dir / "clips"
        self.slots: list[tuple[float, Path]] = []
        self.placed = 0
        self.missed = 0  # clips replaced before the source opened them (node down)
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def source_name(self) -> str:
        return self.sensor.name

    def slot_width(self) -> int:
        sc = self.ctx.scenario
        # One clip per bin when the run is short, fewer for long runs (render time).
        return sc.bin_seconds * max(1, int(np.ceil(sc.minutes * 60 / sc.bin_seconds / 30)))

    def prepare(self) -> None:
        from simulator.camera_scene import Scene, SceneSpec

        sc = self.ctx.scenario
        self.clip_dir.mkdir(exist_ok=True)
        width = self.slot_width()
        first = int(sc.start // sc.bin_seconds) * sc.bin_seconds
        self.truth = {}
        seed0 = sc.seed * 100 + len(self.ctx.node.id)
        for k, t in enumerate(range(first, int(sc.end), width)):
            if t < sc.start:
                continue
            rate = self.ctx.demand.rate(self.ctx.node, self.sensor, t + CLIP_S / 2)
            spec = SceneSpec(view="top", width=SIZE[0], height=SIZE[1], fps=FPS,
                             seconds=CLIP_S, seed=seed0 + k, groups_per_minute=rate / MEAN_GROUP,
                             cross_groups_per_minute=rate / MEAN_GROUP * 0.15,
                             light_switch=False, lines=(LINE,))
            # No person size is configured: the node learns it from what it sees.
            scene = Scene(spec)
            path = self.clip_dir / f"clip-{k:04d}.mp4"
            self._write(scene, path)
            truth = scene.truth()[0]
            b = int(t // sc.bin_seconds) * sc.bin_seconds
            for d in ("in", "out"):
                self.truth[(b, d)] = self.truth.get((b, d), 0.0) + truth[d]
            self.slots.append((t + SLOT_OFFSET_S, path))
        self._black(self.clip_dir / "covered.mp4")

    def _write(self, scene: "Scene", path: Path) -> None:
        """The clip after LEAD_S of the empty floor: a camera that has been running has
        learnt its background; a fresh clip would spend its first seconds learning it."""
        import cv2

        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
        rng = np.random.default_rng(1)
        floor = scene.background
        for _ in range(int(LEAD_S * FPS)):
            noise = rng.integers(-2, 3, floor.shape, dtype=np.int16)
            writer.write(np.clip(floor.astype(np.int16) + noise, 0, 255).astype(np.uint8))
        for frame, _t in scene.frames():
            writer.write(frame)
        writer.release()

    def _black(self, path: Path) -> None:
        import cv2

        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
        rng = np.random.default_rng(0)
        for _ in range(int((LEAD_S + CLIP_S) * FPS)):
            writer.write(rng.integers(0, 4, (SIZE[1], SIZE[0], 3), dtype=np.uint8))
        writer.release()

    def source_toml(self) -> str:
        x1, y1, x2, y2 = LINE
        return (f'[[sources]]\ntype = "camera"\nname = "{self.source_name}"\n'
                f'device = "{self.device}"\nfollow = true\nfps = {FPS:g}\n'
                # Waits between re-opens are short in wall time whatever the speed.
                "emit_seconds = 0.3\nreconnect_max_seconds = 0.3\nbad_seconds = 2\n"
                f'[[sources.lines]]\nname = "main"\npoints = [{x1}, {y1}, {x2}, {y2}]\n')

    # -- live ------------------------------------------------------------------------
    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=f"feed-{self.sensor.name}",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        clock = self.sim_clock
        pending = list(self.slots)
        waiting = False
        while not self.stop_event.wait(POLL_S):
            if waiting and self._opened():
                self.device.unlink(missing_ok=True)  # the open fd keeps reading it
                waiting = False
            if pending and clock() >= pending[0][0]:
                _, clip = pending.pop(0)
                if waiting:
                    self.missed += 1
                src = self.clip_dir / "covered.mp4" if self.covered else clip
                tmp = self.device.with_suffix(".tmp")
                tmp.unlink(missing_ok=True)
                os.link(src, tmp)
                os.replace(tmp, self.device)
                self.placed += 1
                waiting = True

    def _opened(self) -> bool:
        pid = self.edge_pid()
        if pid is None:
            return False
        fd_dir = Path(f"/proc/{pid}/fd")
        target = str(self.device)
        try:
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(fd_dir / fd) == target:
                        return True
                except OSError:
                    continue
        except OSError:
            return False
        return False

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(5)

    def cover(self, on: bool) -> bool:
        self.covered = on
        return True
