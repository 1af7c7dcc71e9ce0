"""Interactive sign: tap-to-next-frame latency (p50, p95) and frames/s while a passer-by
navigates, at 1920x1080 offscreen on one core, against a naive player that repaints the whole
screen on every frame, measured in the same run.

A scripted visit (home -> list -> detail -> variants -> languages -> back ...) is replayed
`ROUNDS` times; each tap is followed by one frame, and the time from the tap to the end of that
frame is the latency. Between taps the player draws IDLE_FRAMES frames (what a person sees while
reading), which give the frames/s. The naive baseline paints the current screen every frame.
Target: p95 < 100 ms (a touch feels immediate), >= 30 frames/s while interacting.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "signage_player" / "example_content" / "sapporo"
ROUNDS = 6
IDLE_FRAMES = 20
TARGETS = [
    "open:routes",
    "item:odori",
    "variant:step_free",
    "variant:quieter",
    "lang:en",
    "back",
    "item:sapporo-station",
    "home",
    "open:events",
    "when:today",
    "home",
    "open:jogging",
    "condition:hard",
    "home",
    "large",
    "open:places",
    "large",
    "home",
]

CHILD = r"""
import json, os, statistics, sys, time
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
import pygame
from pathlib import Path
from signage_player.config import SignageConfig
from signage_player.content import load_package
from signage_player.fonts import FontBook
from signage_player.interactive.screens import paint
from signage_player.live import sample_live
from signage_player.player import Player
from signage_player.render import Renderer
from signage_player.style import metrics

content, rounds, idle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
targets = json.loads(sys.argv[4])
package = load_package(content)
size = (1920, 1080)
cfg = SignageConfig(content=None, state_dir=Path("/tmp"), width=size[0], height=size[1],
                    proof_of_play=False)
fonts = FontBook()
renderer = Renderer(fonts, metrics(*size), languages=cfg.languages)
clock = [1_764_370_800.0]
player = Player(cfg, renderer, package, clock=lambda: clock[0])
player.check = lambda t: None
player.live = sample_live(package)
screen = pygame.Surface(size)

def centre(target):
    b = next(b for b in player.visit.screen().buttons if b.id == target)
    x, y, w, h = b.box
    return x + w // 2, y + h // 2

def run(naive):
    lat, frames, spent = [], 0, 0.0
    for _ in range(rounds):
        player.end_visit(clock[0])
        player.touch(0, 0)
        for target in targets:
            clock[0] += 1.0
            x, y = centre(target)
            t0 = time.perf_counter()
            player.touch(x, y)
            if naive:  # a naive player paints the whole screen every frame
                screen.blit(paint(player.visit.env, player.visit.state).surface, (0, 0))
            else:
                player.frame(screen)
            lat.append(time.perf_counter() - t0)
            t1 = time.perf_counter()
            for _ in range(idle):
                if naive:
                    screen.blit(paint(player.visit.env, player.visit.state).surface, (0, 0))
                else:
                    player.frame(screen)
            spent += time.perf_counter() - t1
            frames += idle
    lat.sort()
    return {"taps": len(lat), "p50_ms": 1000 * lat[len(lat) // 2],
            "p95_ms": 1000 * lat[int(len(lat) * 0.95)], "fps": frames / spent}

out = {"walkway": run(False)}
idle = 2  # the naive player is slow: fewer frames keep the run short, fps is still per frame
out["naive"] = run(True)
print(json.dumps(out))
"""


def main() -> dict:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(CONTENT),
            str(ROUNDS),
            str(IDLE_FRAMES),
            json.dumps(TARGETS),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    ours, naive = res["walkway"], res["naive"]
    res["fps_ratio"] = ours["fps"] / naive["fps"]
    res["p95_ratio"] = ours["p95_ms"] / naive["p95_ms"]
    print(f"interactive 1920x1080, one core, {ours['taps']} taps:")
    print(
        f"  walkway  p50 {ours['p50_ms']:6.1f} ms  p95 {ours['p95_ms']:6.1f} ms  "
        f"{ours['fps']:7.1f} frames/s while reading"
    )
    print(
        f"  naive    p50 {naive['p50_ms']:6.1f} ms  p95 {naive['p95_ms']:6.1f} ms  "
        f"{naive['fps']:7.1f} frames/s (full repaint every frame)"
    )
    print(f"  ratio    p95 x{res['p95_ratio']:.2f}, frames/s x{res['fps_ratio']:.1f}")
    return res
