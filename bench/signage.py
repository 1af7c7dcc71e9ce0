"""Signage player: frames/s at 1920x1080 offscreen on one core, steady and crossfading,
against a naive full redraw of the same scene in the same run; resident memory; time from
process start to the first frame.

Targets: >= 60 frames/s steady, >= 30 during transitions, < 150 MB, first frame < 1.5 s.
Everything runs in a child process pinned to one CPU (SDL_VIDEODRIVER=dummy).
Then video slides (bench/_signage_video.py): a 1920x1080 H.264 slide's frames/s against
decoding the same clip alone, in one child process on one core.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1920, 1080)
STEADY_FRAMES = 600
FADE_FRAMES = 300
NAIVE_FRAMES = 30

CHILD = r"""
import json, os, sys, time
from pathlib import Path
t_spawn = float(sys.argv[1])
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
import pygame
from signage_player.config import SignageConfig
from signage_player.fonts import FontBook
from signage_player.install import load_current
from signage_player.player import Player
from signage_player.render import Renderer
from signage_player.style import metrics

root, (w, h) = Path(sys.argv[2]), json.loads(sys.argv[3])
steady_n, fade_n, naive_n = json.loads(sys.argv[4])
state = root  # a node boots with its content already installed
package = load_current(state)
pygame.display.init()
screen = pygame.display.set_mode((w, h))
clock = [1795000000.0]  # a Wednesday afternoon in Sapporo: events are scheduled
cfg = SignageConfig(content=None, state_dir=state, transition_s=1000.0, sign_kind="underground")
renderer = Renderer(FontBook(), metrics(w, h), languages=cfg.languages)
player = Player(cfg, renderer, package, clock=lambda: clock[0])
player.frame(screen)
pygame.display.flip()
first_frame = time.time() - t_spawn

def rate(n, step):
    start = time.perf_counter()
    for _ in range(n):
        step()
        pygame.display.flip()
    return n / (time.perf_counter() - start)

def steady():
    clock[0] += 0.001
    player.frame(screen)

steady_fps = rate(steady_n, steady)
clock[0] += player.slot.dwell  # next slot: from here on every frame is a crossfade
player.frame(screen)
fade_fps = rate(fade_n, steady)
assert player.previous is not None, "not in a transition"
ctx = renderer.context(package, player.slot.spec, player.slot.lang, player.live,
                       player.local(clock[0]))

def naive():  # lay out, shape and draw every text again, each frame
    shown = renderer.paint(ctx)
    renderer.compose(screen, shown, player.local(clock[0]))

naive_fps = rate(naive_n, naive)
# A full rotation (every scene in every language), to see memory with the cache in use.
for _ in range(len(package.scenes) * 4 + 4):
    clock[0] += player.slot.dwell
    for _ in range(3):
        player.frame(screen)
        clock[0] += 0.3
status = Path("/proc/self/status").read_text()
kb = {l.split(":")[0]: int(l.split()[1]) for l in status.splitlines() if l.startswith("Vm")}
print(json.dumps({"first_frame_s": first_frame, "steady_fps": steady_fps, "fade_fps": fade_fps,
                  "naive_fps": naive_fps, "rss_mb": kb["VmRSS"] / 1024,
                  "peak_rss_mb": kb["VmHWM"] / 1024}))
"""


def main() -> dict:
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "dummy",
        "PYGAME_HIDE_SUPPORT_PROMPT": "1",
        "PYTHONPATH": str(ROOT),
    }
    from signage_player.install import install

    state = Path(tempfile.mkdtemp()) / "state"
    install(ROOT / "signage_player" / "example_content" / "sapporo", state)
    t_spawn = time.time()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(t_spawn),
            str(state),
            json.dumps(SIZE),
            json.dumps([STEADY_FRAMES, FADE_FRAMES, NAIVE_FRAMES]),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        timeout=300,
    ).stdout
    shutil.rmtree(state.parent, ignore_errors=True)
    r = json.loads(out.strip().splitlines()[-1])
    r["steady_vs_naive"] = r["steady_fps"] / r["naive_fps"]
    r["fade_vs_naive"] = r["fade_fps"] / r["naive_fps"]
    r["targets_met"] = (
        r["steady_fps"] >= 60
        and r["fade_fps"] >= 30
        and r["peak_rss_mb"] < 150
        and r["first_frame_s"] < 1.5
    )
    print(f"signage {SIZE[0]}x{SIZE[1]} offscreen, one core:")
    print(f"  steady      {r['steady_fps']:8.1f} frames/s  ({r['steady_vs_naive']:.1f}x naive)")
    print(f"  crossfade   {r['fade_fps']:8.1f} frames/s  ({r['fade_vs_naive']:.1f}x naive)")
    print(f"  naive redraw{r['naive_fps']:8.1f} frames/s  (lay out and draw every frame)")
    print(
        f"  memory      {r['rss_mb']:8.1f} MB resident after a full rotation"
        f" (peak {r['peak_rss_mb']:.1f} MB)"
    )
    print(f"  first frame {r['first_frame_s']:8.2f} s from process start")
    print(f"  targets (>=60, >=30 fps, <150 MB, <1.5 s): {'met' if r['targets_met'] else 'MISSED'}")
    from bench._signage_video import main as video_main

    r["video"] = video_main(env)
    return r


if __name__ == "__main__":
    main()
