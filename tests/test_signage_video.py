"""Video slides: a real H.264 clip whose frames carry their index in their pixels
(tests/support/video_clips.py) played by the player on the pygame offscreen screen; every
frame read back from the screen, no black frame at a transition, authoring checks, goldens."""

import logging
import shutil
import struct
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from signage_player.authoring.build import build, lint
from signage_player.install import install, load_current
from tests.support.golden import assert_matches_golden
from tests.support.video_clips import FPS, FRAMES, read_index

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "tests" / "data" / "content_src"
CLIP = ROOT / "tests" / "data" / "signage" / "video" / "index.mp4"
GOLDEN = ROOT / "tests" / "data" / "signage"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
T0 = 1_795_000_000.0
SCREEN = (480, 270)
PLAYER_FPS = 24  # two screen frames per clip frame (12 fps)
POSTER_S = 1
SIZES = ((1920, 1080),)


def _source(tmp_path: Path, scene: str, clip: Path | bytes = CLIP) -> Path:
    """content_src with only its emergency and poster scenes, plus a video scene."""
    src = tmp_path / "src"
    shutil.copytree(SRC, src)
    for p in (src / "scenes").glob("*.toml"):
        if not p.name.startswith(("08-", "09-")):
            p.unlink()
    poster = src / "scenes" / "09-poster.toml"
    poster.write_text(poster.read_text("utf-8").replace("seconds = 8",
                                                        f"seconds = {POSTER_S}"), "utf-8")
    if isinstance(clip, bytes):
        (src / "assets" / "clip.mp4").write_bytes(clip)
    else:
        shutil.copyfile(clip, src / "assets" / "clip.mp4")
    (src / "scenes" / "10-clip.toml").write_text(scene, "utf-8")
    return src


def _scene(play: str = "loop", seconds: int = 5, fit: str = "contain") -> str:
    return (f'[scene]\ntype = "video"\nseconds = {seconds}\n\n[data]\n'
            f'video = "assets/clip.mp4"\nfit = "{fit}"\nplay = "{play}"\n'
            'background = "#0b2545"\n')


def _player(tmp_path: Path, play: str, seconds: int = 5, transition_s: float = 0.0):
    import pygame

    from signage_player.config import SignageConfig
    from signage_player.fonts import FontBook
    from signage_player.player import Player
    from signage_player.render import Renderer
    from signage_player.style import metrics

    pkg = build(_source(tmp_path, _scene(play, seconds)), tmp_path / "pkg", now=NOW, sizes=SIZES)
    state = tmp_path / "state"
    install(pkg.root, state)
    pygame.display.init()
    screen = pygame.display.set_mode(SCREEN)
    cfg = SignageConfig(content=None, state_dir=state, transition_s=transition_s,
                        languages=("ja",))
    clock = [T0]
    renderer = Renderer(FontBook(), metrics(*SCREEN, diagonal_in=27), languages=cfg.languages)
    return Player(cfg, renderer, load_current(state), clock=lambda: clock[0]), screen, clock


def _play(player, screen, clock, seconds: float) -> list:
    """Each frame at PLAYER_FPS: (index shown or None, every 3rd pixel of the screen)."""
    import pygame

    out = []
    for _ in range(round(seconds * PLAYER_FPS)):
        player.frame(screen)
        view = pygame.surfarray.pixels3d(screen)
        out.append((read_index(view, (0, 0, *SCREEN)), view[::3, ::3].copy()))
        del view  # unlocks the screen
        clock[0] += 1 / PLAYER_FPS
    return out


def _runs(indices: list) -> list[list]:
    runs: list[list] = []
    for v in indices:
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    return runs


def _black_share(rgb) -> float:
    return float((rgb.max(axis=2) < 16).mean())


def test_play_to_end_shows_every_frame_once_and_no_black_frame(tmp_path):
    import numpy as np

    player, screen, clock = _player(tmp_path, "to_end")
    frames = _play(player, screen, clock, POSTER_S + 2 + POSTER_S + 1)  # poster, clip, ...
    runs = _runs([i for i, _ in frames])
    shown = [v for v, _ in runs]
    # the poster, then the clip's 24 frames in order, then the poster again, then the clip
    assert shown[:2 + FRAMES] == [None, *range(FRAMES), None], runs[:30]
    assert shown[2 + FRAMES] == 0  # scene -> video: its first frame, prepared ahead
    per_frame = PLAYER_FPS / FPS
    assert all(abs(n - per_frame) <= 1 for v, n in runs[1:1 + FRAMES]), runs  # on time
    poster = frames[0][1]
    for index, rgb in frames:  # every frame is a clip frame or the poster, never black
        assert index is not None or np.array_equal(rgb, poster)
        assert _black_share(rgb) < 0.01


def test_loop_is_gapless_and_the_slot_ends_on_time(tmp_path):
    player, screen, clock = _player(tmp_path, "loop", seconds=5)
    frames = _play(player, screen, clock, POSTER_S + 5 + 1)
    shown = [v for v, _ in _runs([i for i, _ in frames])]
    loops = 5 * FPS // FRAMES  # 2 whole loops, then 12 frames of a third
    want = [None, *range(FRAMES)] + [*range(FRAMES)] * (loops - 1) + [*range(12), None]
    assert shown == want, shown
    assert all(_black_share(rgb) < 0.01 for _, rgb in frames)
    assert player.video is None and player.next_video is None  # decoders released


def test_crossfades_around_a_video_never_go_dark(tmp_path):
    player, screen, clock = _player(tmp_path, "to_end", transition_s=0.5)
    frames = _play(player, screen, clock, POSTER_S + 2 + 2)
    means = [float(rgb.mean()) for _, rgb in frames]
    clip_mean = min(m for (i, _), m in zip(frames, means, strict=True) if i is not None)
    floor = min(means[0], clip_mean)  # a blend of two pictures is never darker than both
    assert min(means) >= floor - 2, (min(means), floor)
    assert max(_black_share(rgb) for _, rgb in frames) < 0.01


def test_a_video_broken_on_the_sign_is_skipped_with_a_reason(tmp_path, caplog):
    import numpy as np

    player, screen, clock = _player(tmp_path, "loop")
    (player.package.root / "assets" / "clip.mp4").write_bytes(b"\0" * 4096)  # after install
    caplog.set_level(logging.ERROR)
    frames = _play(player, screen, clock, 3 * POSTER_S + 1)
    assert all(i is None for i, _ in frames)  # the clip never shows ...
    poster = frames[0][1]
    assert all(np.array_equal(rgb, poster) for _, rgb in frames)  # ... the poster does
    assert "video scene clip skipped" in player.problem
    assert any("clip" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)


def _patched_size(width: int, height: int) -> bytes:
    blob = bytearray(CLIP.read_bytes())
    at = blob.index(b"avc1", blob.index(b"stsd")) + 4 + 24  # the sample entry: width, height
    blob[at:at + 4] = struct.pack(">HH", width, height)
    return bytes(blob)


def _mp4v_clip(tmp_path: Path) -> bytes:
    import cv2
    import numpy as np

    path = tmp_path / "mp4v.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    return path.read_bytes()


@pytest.mark.parametrize(("clip", "scene", "want"), [
    (b"not a video", _scene(), "clip.mp4: video: no readable MP4 video track; expected an"
     " H.264 MP4"),
    ("mp4v", _scene(), "clip.mp4: video: codec 'mp4v'; expected an H.264 MP4"),
    ("4k", _scene(), "clip.mp4: video: 3840x2160; expected at most 2073600 pixels"),
    (CLIP, _scene().replace("assets/clip.mp4", "assets/nope.mp4"),
     "10-clip.toml:6: data.video: expected an .mp4 file under assets/, got 'assets/nope.mp4'"),
    (CLIP, _scene(fit="zoom"),
     "10-clip.toml:7: data.fit: expected one of contain, cover, stretch, got 'zoom'"),
    (CLIP, _scene(play="twice"),
     "10-clip.toml:8: data.play: expected one of loop, to_end, got 'twice'"),
], ids=["garbage", "not-h264", "too-big", "missing", "bad-fit", "bad-play"])
def test_lint_refuses_a_bad_video_with_one_line(tmp_path, clip, scene, want):
    if clip == "mp4v":
        clip = _mp4v_clip(tmp_path)
    elif clip == "4k":
        clip = _patched_size(3840, 2160)
    lines = [str(p) for p in lint(_source(tmp_path, scene, clip), now=NOW, sizes=SIZES).items]
    assert len(lines) == 1 and want in lines[0], lines


def test_install_refuses_a_video_whose_frames_do_not_decode(tmp_path):
    from signage_player.content import ContentError, write_manifest_hashes

    pkg = build(_source(tmp_path, _scene()), tmp_path / "pkg", now=NOW, sizes=SIZES)
    blob = bytearray((pkg.root / "assets" / "clip.mp4").read_bytes())
    mdat = blob.index(b"mdat") + 4
    blob[mdat:] = b"\0" * (len(blob) - mdat)  # the header says H.264, the data is nothing
    (pkg.root / "assets" / "clip.mp4").write_bytes(bytes(blob))
    write_manifest_hashes(pkg.root)
    with pytest.raises(ContentError) as err:
        install(pkg.root, tmp_path / "state", try_render=True)
    assert "clip.mp4: video: expected an H.264 MP4 that decodes" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_package_of_only_videos_is_refused(tmp_path):
    src = _source(tmp_path, _scene())
    (src / "scenes" / "09-poster.toml").unlink()
    lines = [str(p) for p in lint(src, now=NOW, sizes=SIZES).items]
    assert any("expected at least one scene to play that is not a video" in ln
               for ln in lines), lines


@pytest.mark.parametrize(("size", "fit"), [((1080, 1920), "contain"), ((1920, 1080), "cover"),
                                           ((1080, 1920), "stretch")],
                         ids=["portrait-contain", "landscape-cover", "portrait-stretch"])
def test_video_slide_first_frame_golden(tmp_path, size, fit):
    from signage_player.offscreen import render_scene

    pkg = build(_source(tmp_path, _scene(fit=fit)), tmp_path / "pkg", now=NOW, sizes=SIZES)
    frame, shown = render_scene(pkg, "clip", "ja", size)
    import pygame

    rgb = pygame.surfarray.array3d(frame)
    if fit == "contain":  # letterboxed on the background, the clip in the middle
        assert tuple(rgb[size[0] // 2, 10]) == (0x0B, 0x25, 0x45)
        top = (size[1] - size[0] * 9 // 16) // 2
        assert read_index(rgb, (0, top, size[0], size[0] * 9 // 16)) == 0
    assert_matches_golden(frame, GOLDEN / f"video-clip-{fit}-{size[0]}x{size[1]}.png")


def test_header_probe_never_crashes_on_cut_or_flipped_files(tmp_path):
    import random

    from signage_player.mp4 import BadVideo, VideoInfo, probe

    blob = CLIP.read_bytes()
    rng = random.Random(14)
    cases = [blob[:cut] for cut in range(0, len(blob), 5)]
    for _ in range(300):
        flipped = bytearray(blob)
        for _ in range(rng.randint(1, 8)):
            flipped[rng.randrange(min(len(blob), 1200))] = rng.randrange(256)  # the moov box
        cases.append(bytes(flipped))
    path, outcomes = tmp_path / "x.mp4", set()
    for case in cases:
        path.write_bytes(case)
        try:
            info = probe(path, "x.mp4", "m.json")
        except BadVideo as exc:
            assert "\n" not in str(exc) and str(exc).startswith("m.json: videos: x.mp4: ")
            outcomes.add("refused")
        else:
            assert isinstance(info, VideoInfo) and info.codec in ("avc1", "avc3")
            outcomes.add("read")
    assert outcomes == {"refused", "read"}


def test_a_late_player_shows_the_frame_due_and_never_replays(tmp_path):
    import pygame

    player, screen, clock = _player(tmp_path, "loop", seconds=30)
    _play(player, screen, clock, POSTER_S)  # the poster's second; the video slot is next
    player.frame(screen)
    start = player.slot.started
    assert player.slot.spec.type == "video"

    def index_at(t: float) -> int | None:
        clock[0] = t
        player.frame(screen)
        return read_index(pygame.surfarray.pixels3d(screen), (0, 0, *SCREEN))

    assert index_at(start + 0.75) == 9  # 12 frames/s: 9 due; 1-8 decoded, not converted
    assert index_at(start + 1.0) == 12
    assert index_at(start + 2.5) == 6  # into the second loop
    assert index_at(start + 20.0) == 0  # stalled for loops on end: goes on from now
    assert index_at(start + 20.0 + 1 / FPS) == 1
