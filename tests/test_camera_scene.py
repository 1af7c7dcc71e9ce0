"""The scene renderer: deterministic frames, exact truth, the features the tests rely on."""

import hashlib

import numpy as np
import pytest

from sensors.camera.geometry import reference_crossings
from simulator.camera_scene import Scene, SceneSpec, write_video


def digest(scene: Scene, n: int = 30) -> str:
    h = hashlib.sha256()
    for i, (frame, _t) in enumerate(scene.frames()):
        if i >= n:
            break
        h.update(frame.tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("view", ["top", "oblique"])
def test_a_scene_is_deterministic_and_has_what_the_tests_need(view: str) -> None:
    spec = SceneSpec(view=view, width=160, height=120, seconds=60, seed=3)
    scene = Scene(spec)
    assert digest(scene) == digest(Scene(spec))
    assert scene.truth() == Scene(spec).truth()
    frame, t = next(scene.frames())
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8 and t == 0.0
    truth = scene.truth()[0]
    assert truth["in"] > 10 and truth["out"] > 10  # both directions
    starts = [p.t0 for p in scene.people]
    assert max(starts.count(t0) for t0 in set(starts)) >= 2  # groups walk together
    assert any(p.stop_for > 0 for p in scene.people)  # some people stop
    gains = {round(scene.gain(t), 2) for t in np.arange(0, spec.seconds, 1.0)}
    assert min(gains) < 0.8 and max(gains) > 1.1  # slow drift and the lights dimming


def test_truth_is_the_gt_crossings_rule_on_foot_points() -> None:
    scene = Scene(SceneSpec(width=200, height=100, seconds=30, seed=1))
    tracks = {i: list(p.trail.items()) for i, p in enumerate(scene.people)}
    line = (0.0, 0.5, 1.0, 0.5)
    assert scene.truth_for(line) == reference_crossings(tracks, (0, 50, 200, 50))
    # A person's foot trail runs the way they walk.
    walker = next(p for p in scene.people if p.heading[1] > 0 and len(p.trail) > 10)
    ys = [y for _f, (_x, y) in sorted(walker.trail.items())]
    assert ys[-1] > ys[0]


def test_oblique_people_are_smaller_far_away() -> None:
    scene = Scene(SceneSpec(view="oblique", width=320, height=240, seconds=5))
    assert scene.far_scale < 1.0
    person = scene.people[0]
    near = scene._box(person, person.t0)  # noqa: SLF001 - geometry check
    person_far = type(person)(**{**person.__dict__, "start": person.start + [0, 3.0]})
    far = scene._box(person_far, person.t0)  # noqa: SLF001
    assert far[3] < near[3]


def test_write_video_round_trips(tmp_path) -> None:
    import cv2

    scene = Scene(SceneSpec(width=160, height=120, seconds=2, fps=10))
    path = tmp_path / "s.mp4"
    assert write_video(scene, str(path)) == 20
    cap = cv2.VideoCapture(str(path))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == 20


def test_a_post_stands_in_front_of_the_people_and_upright_people_are_taller() -> None:
    spec = SceneSpec(view="oblique", width=320, height=240, seconds=20, seed=4, post_x=0.5,
                     groups_per_minute=120, upright=0.8, light_switch=False, lighting=0.0,
                     noise=0.0)
    scene = Scene(spec)
    low = Scene(SceneSpec(view="oblique", width=320, height=240, seconds=1, seed=4))
    assert scene.person_size[1] == pytest.approx(2 * low.person_size[1])
    # The post's pixels never change, whoever walks behind it.
    column = [frame[100, 160].astype(int) for frame, _t in scene.frames()]
    assert max(abs(c - column[0]).max() for c in column) <= 1
