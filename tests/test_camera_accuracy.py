"""Counting accuracy: rendered scenes (exact truth, >= 50 crossings, both directions, groups)
within 5 % per direction with the person size given, and within 10 % with the size learnt;
every real clip in tests/data scored against its ground truth with default settings."""

from pathlib import Path

import pytest

from sensors.camera.evaluate import our_counter, real_clips, score_clip
from sensors.camera.geometry import CountLine
from sensors.camera.options import PipelineOptions
from sensors.camera.pipeline import Pipeline
from sensors.camera.score import summary
from simulator.camera_scene import Scene, SceneSpec

VIDEO = Path(__file__).resolve().parent / "data" / "video"
# The background model learns the empty scene during its first 1.5 s: nothing is counted
# then, so the truth starts a little later.
LEARNING_S = 2.0


@pytest.mark.parametrize(
    ("view", "seed"), [("top", 1), ("top", 2), ("oblique", 1), ("oblique", 2)]
)
def test_rendered_scene_counts_within_5_percent_per_direction(view: str, seed: int) -> None:
    spec = SceneSpec(view=view, width=320, height=240, fps=15, seconds=120, seed=seed)
    scene = Scene(spec)
    lines = tuple(CountLine(f"l{i}", *line) for i, line in enumerate(spec.lines))
    options = PipelineOptions(lines=lines, person_size=scene.person_size,
                              far_scale=scene.far_scale)
    pipeline = Pipeline(options, (spec.width, spec.height), spec.fps)
    for frame, t in scene.frames():
        pipeline.process(frame, t)
    truth, got = scene.truth(LEARNING_S)[0], pipeline.counts[0]
    print(f"{view} seed {seed}: truth {truth} counted {got}; cross line "
          f"truth {scene.truth(LEARNING_S)[1]} counted {pipeline.counts[1]}")
    assert truth["in"] + truth["out"] >= 50 and min(truth.values()) >= 20
    assert sum(1 for p in scene.people if p.t0 in {q.t0 for q in scene.people if q is not p})
    for direction in ("in", "out"):
        assert abs(got[direction] - truth[direction]) <= 0.05 * truth[direction], (got, truth)


def test_rendered_scene_with_default_settings_learns_the_person_size() -> None:
    """No person size given: a 7 fps oblique view (perspective, groups, stops) is counted
    with the size the pipeline learns itself, and the learnt size is the scene's."""
    spec = SceneSpec(view="oblique", width=384, height=288, fps=7, seconds=120, seed=22)
    scene = Scene(spec)
    lines = tuple(CountLine(f"l{i}", *line) for i, line in enumerate(spec.lines))
    pipeline = Pipeline(PipelineOptions(lines=lines), (spec.width, spec.height), spec.fps)
    for frame, t in scene.frames():
        pipeline.process(frame, t)
    fit = pipeline.sizes.fit
    assert fit is not None
    assert fit.size[1] == pytest.approx(scene.person_size[1], rel=0.15)
    assert fit.far_scale == pytest.approx(scene.far_scale, abs=0.1)
    truth = scene.truth(LEARNING_S)
    error = sum(abs(pipeline.counts[i][d] - truth[i][d]) for i in range(2) for d in ("in", "out"))
    reference = sum(truth[i][d] for i in range(2) for d in ("in", "out"))
    print(f"learnt {fit}; truth {truth} counted {pipeline.counts}")
    assert reference >= 100 and error <= 0.1 * reference  # measured: 10 of 126


@pytest.mark.slow
def test_real_clips_with_default_settings() -> None:
    """Every real clip in tests/data (TUD eye level, CAVIAR elevated), one configuration:
    accuracy and event F1 pooled over all lines, both directions; counts.json's jitter
    events left out. Thresholds sit just under what was measured (see docs/camera.md)."""
    pooled = []
    clips = real_clips(VIDEO)
    assert {c.name for c in clips} >= {"TUD-Campus", "TUD-Stadtmitte", "OneLeaveShop1cor",
                                      "OneLeaveShop1front"}
    per_clip = {}
    for clip in clips:
        scores = score_clip(clip, our_counter())
        per_clip[clip.name] = summary(scores)
        print(clip.name, per_clip[clip.name])
        pooled.extend(scores)
    total = summary(pooled)
    print("all real clips", total)
    assert total["reference"] == 49
    # measured 0.878 and 0.875 (the TUD clips and the corridor on ssdlite, chosen by
    # detector = "auto"); 0.796 and 0.804 the session before. Step by step, and why the
    # 0.898 measured before the lost-track gate change is not kept (a false count on
    # TUD-Stadtmitte balanced a miss): docs/camera.md, "Accuracy and speed".
    assert total["accuracy"] >= 0.87 and total["f1"] >= 0.87
    # Elevated CAVIAR clips: measured 4 of 11, F1 0.545 (corridor; the supervision peer
    # 0.182 at best in accuracy, 0.273 in F1) and 0 of 4 (shop front); the session before
    # 5 / 0.381 and 1 (docs/camera.md has the events).
    assert per_clip["OneLeaveShop1cor"]["abs_error"] <= 4
    assert per_clip["OneLeaveShop1cor"]["f1"] >= 0.54
    assert per_clip["OneLeaveShop1front"]["abs_error"] == 0
    # Eye level, people walking in file (sensors/camera/person_track.py): measured 1 of 21
    # (F1 0.976) and 1 of 13 (F1 0.960); the session before 3 (0.923) and 1 (0.960);
    # before occlusion tracking 7 (0.800) and 1 (0.880).
    assert per_clip["TUD-Campus"]["abs_error"] <= 1 and per_clip["TUD-Campus"]["f1"] >= 0.97
    assert per_clip["TUD-Stadtmitte"]["abs_error"] <= 1
    assert per_clip["TUD-Stadtmitte"]["f1"] >= 0.95


def _scene_error(spec: SceneSpec) -> tuple[int, int]:
    """(summed error, reference) on lines 0-1 after the first 20 s, default settings."""
    scene = Scene(spec)
    lines = tuple(CountLine(f"l{i}", *line) for i, line in enumerate(spec.lines))
    pipeline = Pipeline(PipelineOptions(lines=lines), (spec.width, spec.height), spec.fps)
    since = 20.0  # the person size is learnt over the first 20 s, as on a new node
    counts = [{"in": 0, "out": 0} for _ in lines]
    for frame, t in scene.frames():
        for event in pipeline.process(frame, t):
            if t >= since:
                counts[event.line][event.direction] += 1
    truth = scene.truth(since)
    error = sum(abs(counts[i][d] - truth[i][d]) for i in range(2) for d in ("in", "out"))
    reference = sum(truth[i][d] for i in range(2) for d in ("in", "out"))
    print(f"truth {truth} counted {counts}")
    return error, reference


def test_rendered_scene_with_deep_shadows_and_turn_backs() -> None:
    """Hard the way real footage is, default settings: 7 fps, people turning back at the
    lines, and each casting a shadow that darkens the floor by 35 % (too deep for a grey
    test; the colour test takes it out, so the learnt person size is one person's, not
    one person and their shadow, and groups are cut into their people)."""
    spec = SceneSpec(view="oblique", width=384, height=288, fps=7, seconds=70, seed=33,
                     turn_probability=0.2, shadow=0.35, groups_per_minute=50)
    error, reference = _scene_error(spec)
    assert reference >= 50 and error <= 0.1 * reference  # measured: 1 of 54


def test_top_view_at_7fps_with_people_turning_back_at_the_lines() -> None:
    """Overhead at 7 fps, default settings: a fifth of the groups walk up to a line and turn
    back, some with the foot just over it (both crossings in the reference, inside the
    dead-band), some a step past the band and straight back out of it a frame later."""
    spec = SceneSpec(view="top", width=320, height=240, fps=7, seconds=70, seed=108,
                     turn_probability=0.2, shadow=0.35)
    error, reference = _scene_error(spec)
    assert reference >= 45 and error <= 1  # measured: 0 of 49 (4 before turns counted)
