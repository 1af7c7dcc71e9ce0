"""The "camera" source: config validation, counts into a real store, health, reconnect."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from support.edge_thread import edge_daemon_thread
from support.walkway_procs import wait_for as wait_until

from edge.config import parse_config
from sensors.base import SourceContext, SourceState
from sensors.camera import capture
from sensors.camera.health import FrameHealth
from sensors.camera.options import HealthOptions
from sensors.camera.source import CameraSource
from simulator.camera_scene import Scene, SceneSpec, write_video
from walkway.errors import ConfigError
from walkway.records import END_OF_TIME, Batch

ROOT = Path(__file__).resolve().parents[1]




@pytest.fixture(scope="module")
def scene_video(tmp_path_factory) -> tuple[Path, Scene]:
    scene = Scene(SceneSpec(view="top", width=320, height=240, seconds=30, seed=5,
                            light_switch=False, lines=((0.05, 0.5, 0.95, 0.5),)))
    path = tmp_path_factory.mktemp("video") / "scene.mp4"
    write_video(scene, str(path))
    return path, scene


def node_toml(tmp_path: Path, device: str, extra: str = "") -> str:
    return f"""
[node]
id = "n1"
site = "s1"
[store]
path = "{tmp_path / 'store.db'}"
[mqtt]
url = "mqtt://127.0.0.1:1883"
[[sources]]
type = "camera"
name = "cam"
device = "{device}"
person_size = [0.0934, 0.1245]
{extra}
[[sources.lines]]
name = "door"
points = [0.05, 0.5, 0.95, 0.5]
"""


def config_dict(**source: object) -> dict:
    base = {"type": "camera", "name": "cam", "device": 0,
            "lines": [{"name": "door", "points": [0, 0.5, 1, 0.5]}]}
    return {"node": {"id": "n1", "site": "s1"}, "store": {"path": "s.db"},
            "mqtt": {}, "sources": [{**base, **source}]}


def test_a_valid_camera_config_is_parsed_into_typed_options() -> None:
    config = parse_config(Path("/etc/walkway/node.toml"), config_dict(
        device="rtsp://cam.local/stream", roi=[[0, 0], [1, 0], [1, 1]],
        lines=[{"name": "gate", "points": [0.5, 0, 0.5, 1], "in": "north", "out": "south"}]))
    options = config.sources[0].options
    assert options.device == "rtsp://cam.local/stream"
    line = options.pipeline.lines[0]
    assert (line.name, line.in_label, line.out_label) == ("gate", "north", "south")
    assert options.pipeline.roi == ((0, 0), (1, 0), (1, 1))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"lines": []}, "lines: expected at least one"),
        ({"lines": [{"name": "a", "points": [0, 0, 0, 0]}]}, "points: expected [x1, y1, x2, y2]"),
        ({"lines": [{"name": "a", "points": [0, 0, 1, 1]}] * 2}, "unique within the source"),
        ({"lines": [{"name": "a", "points": [0, 0, 1, 1], "in": "x", "out": "x"}]},
         "different from `in`"),
        ({"detector": "dnn"}, "model: expected a model file path"),
        ({"detector": "yolo"}, "detector: expected one of auto, motion, hog, dnn"),
        ({"device": True}, "device: expected a device index"),
        ({"person_size": [2, 0.1]}, "person_size: expected [a, b]"),
        ({"roi": [[0, 0], [1, 1]]}, "roi: expected at least three"),
        ({"fsp": 10}, "unknown key"),
    ],
)
def test_config_problems_are_reported_one_line_each(source, message) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(Path("node.toml"), config_dict(**source))
    assert any(message in p for p in caught.value.problems), caught.value.problems


def test_validating_a_config_never_imports_cv2(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text(node_toml(tmp_path, "/dev/video0"))
    code = ("import sys; from edge.config import load_config; "
            f"load_config({str(tmp_path / 'node.toml')!r}); print('cv2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_the_edge_daemon_stores_camera_counts_with_zero_bins(tmp_path, scene_video) -> None:
    path, scene = scene_video
    (tmp_path / "node.toml").write_text(node_toml(tmp_path, str(path)))
    with edge_daemon_thread(tmp_path / "node.toml") as daemon:
        wait_until(lambda: daemon.statuses()["cam"].state == SourceState.IDLE,
                   60, "the end of the video file")
    from edge.store import Store

    store = Store(tmp_path / "store.db", node="n1")
    bins = store.bins()
    store.close()
    assert {b["sensor"] for b in bins} == {"cam.door"}
    assert {b["direction"] for b in bins} == {"in", "out"}
    got = {d: sum(b["count"] for b in bins if b["direction"] == d) for d in ("in", "out")}
    truth = scene.truth(2.0)[0]  # the background is learnt during the first 1.5 s
    for direction in ("in", "out"):
        assert abs(got[direction] - truth[direction]) <= max(1, 0.1 * truth[direction]), (
            got, truth)


def test_frame_health_covered_blinded_frozen_and_recovery() -> None:
    health = FrameHealth(HealthOptions(bad_s=1.0, frozen_s=2.0))
    rng = np.random.default_rng(1)
    scene = lambda: rng.integers(40, 220, (60, 80), dtype=np.uint8)  # noqa: E731
    assert health.check(scene(), 0.0) is None
    black = np.full((60, 80), 3, np.uint8)
    assert health.check(black, 1.0) is None  # not yet: a passer-by close to the lens
    state, reason = health.check(black, 2.5)
    assert state == SourceState.DEGRADED and "covered" in reason
    assert health.check(scene(), 3.0) is None
    white = np.full((60, 80), 252, np.uint8)
    health.check(white, 4.0)
    state, reason = health.check(white, 5.5)
    assert state == SourceState.DEGRADED and "blinded" in reason
    still = scene()
    for t in (6.0, 7.0, 8.0, 9.0):
        result = health.check(still, t)
    assert result is not None and result[0] == SourceState.STALLED and "frozen" in result[1]
    assert health.check(scene(), 10.0) is None


class FlakyCamera:
    """A USB camera that delivers `frames` and is then unplugged (read fails)."""

    def __init__(self, frames: list[np.ndarray], clock: list[float]) -> None:
        self.frames = list(frames)
        self.clock = clock

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self.frames:
            return False, None
        self.clock[0] += 1 / 15
        return True, self.frames.pop(0)

    def get(self, prop: int) -> float:
        return 15.0

    def release(self) -> None:
        return None


def test_a_lost_camera_is_reported_and_counting_resumes_after_reconnect(monkeypatch) -> None:
    scene = Scene(SceneSpec(view="top", width=320, height=240, seconds=24, seed=5,
                            light_switch=False, lines=((0.05, 0.5, 0.95, 0.5),)))
    frames = [f for f, _ in scene.frames()]
    offset = [0.0]
    plugged = [FlakyCamera(frames[:180], offset), None, None, FlakyCamera(frames[180:], offset)]
    opened: list[object] = []

    def fake_open(device: object) -> object:
        cam = plugged.pop(0) if plugged else None
        opened.append(cam)
        return cam

    monkeypatch.setattr(capture, "open_capture", fake_open)
    config = parse_config(Path("node.toml"), config_dict(
        device=0, reconnect_max_seconds=0.1, person_size=[0.0934, 0.1245],
        lines=[{"name": "door", "points": [0.05, 0.5, 0.95, 0.5]}]))
    clock = lambda: time.time() + offset[0]  # noqa: E731 - real time plus frame time
    source = CameraSource("cam", config.sources[0].options, SourceContext("n1", ROOT, clock))
    batches: list[Batch] = []
    stop = threading.Event()
    seen: set[str] = set()

    def emit(batch: Batch) -> None:
        batches.append(batch)
        seen.add(str(source.status().state))

    thread = threading.Thread(target=source.run, args=(emit, stop, None))
    thread.start()
    try:
        wait_until(lambda: len(opened) >= 5, 30, "the camera to come back and go again")
    finally:
        stop.set()
        thread.join(10)
    assert "disconnected" in seen
    assert source.status().counters["reconnects"] >= 1
    counted = sum(o.count for b in batches for o in b.observations)
    # Each (re)connection learns the background afresh for 1.5 s; the rest is counted.
    assert counted >= 0.7 * sum(scene.truth()[0].values())
    # Watermarks keep advancing while the camera is away; nothing is ever END_OF_TIME.
    assert all(b.watermark is not None and b.watermark < END_OF_TIME for b in batches)
    names = {o.sensor for b in batches for o in b.observations}
    assert names == {"cam.door"}


def test_a_covered_lens_is_reported_and_counting_resumes_by_itself(monkeypatch) -> None:
    scene = Scene(SceneSpec(view="top", width=320, height=240, seconds=24, seed=5,
                            light_switch=False, lines=((0.05, 0.5, 0.95, 0.5),)))
    frames = [f for f, _ in scene.frames()]
    black = [np.zeros_like(frames[0])] * 75  # a hand over the lens for 5 s
    offset = [0.0]
    camera = FlakyCamera(frames[:150] + black + frames[150:], offset)
    monkeypatch.setattr(capture, "open_capture", lambda device: camera)
    config = parse_config(Path("node.toml"), config_dict(
        device=0, person_size=[0.0934, 0.1245],
        lines=[{"name": "door", "points": [0.05, 0.5, 0.95, 0.5]}]))
    clock = lambda: time.time() + offset[0]  # noqa: E731
    source = CameraSource("cam", config.sources[0].options, SourceContext("n1", ROOT, clock))
    states: list[tuple[str, str]] = []
    batches: list[Batch] = []

    def emit(batch: Batch) -> None:
        batches.append(batch)
        status = source.status()
        if not states or states[-1][0] != status.state:
            states.append((str(status.state), status.reason))

    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(emit, stop, None))
    thread.start()
    try:
        wait_until(lambda: not camera.frames, 30, "every frame to be read")
    finally:
        stop.set()
        thread.join(10)
    kinds = [s for s, _ in states]
    assert "degraded" in kinds and "ok" in kinds[kinds.index("degraded"):]
    assert "covered" in dict(states)["degraded"]
    assert source.status().counters["picture_problems"] == 1
    after = [o for b in batches[len(batches) // 2:] for o in b.observations if o.count]
    assert after, "no crossing was counted after the lens was uncovered"


def test_zero_counts_while_counting_and_gaps_while_the_camera_is_away(monkeypatch) -> None:
    rng = np.random.default_rng(2)
    floor = rng.integers(60, 200, (240, 320, 3)).astype(np.uint8)  # an empty, textured floor
    frames = [cv2_noise(floor, rng) for _ in range(60)]
    offset = [0.0]
    plugged = [FlakyCamera(frames, offset)]
    monkeypatch.setattr(capture, "open_capture", lambda d: plugged.pop() if plugged else None)
    config = parse_config(Path("node.toml"), config_dict(device=0, reconnect_max_seconds=0.1))
    clock = lambda: time.time() + offset[0]  # noqa: E731
    source = CameraSource("cam", config.sources[0].options, SourceContext("n1", ROOT, clock))
    batches: list[tuple[str, Batch]] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=source.run,
        args=(lambda b: batches.append((str(source.status().state), b)), stop, None))
    thread.start()
    try:
        wait_until(lambda: any(s == "disconnected" for s, _ in batches[-3:]) and len(batches) > 6,
                   30, "the camera to go away")
    finally:
        stop.set()
        thread.join(10)
    counting = [b for s, b in batches if s == "ok"]
    away = [b for s, b in batches if s == "disconnected"]
    assert counting and away
    for batch in counting:
        assert {(o.sensor, o.direction, o.count) for o in batch.observations} == {
            ("cam.door", "in", 0), ("cam.door", "out", 0)}
    assert all(not b.observations and b.watermark for b in away)


def cv2_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A frame of a live sensor: the same scene, new noise."""
    noise = rng.integers(-2, 3, image.shape)
    return np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)


def test_follow_counts_each_clip_once_however_late_its_writer_is(tmp_path, scene_video) -> None:
    """`follow = true` (the simulator's feed): a clip still at the path when it has been
    counted is never read again; a new file there (even a new link to the same clip) is."""
    import os

    path, scene = scene_video
    device = tmp_path / "cam.mp4"
    os.link(path, device)  # the writer places a clip and then does nothing (starved)
    (tmp_path / "node.toml").write_text(node_toml(tmp_path, str(device), "follow = true"))
    from edge.store import Store

    def total() -> int:
        store = Store(tmp_path / "store.db", node="n1")
        try:
            return sum(b["count"] for b in store.bins())
        finally:
            store.close()

    with edge_daemon_thread(tmp_path / "node.toml") as daemon:

        def cam():
            return daemon.statuses()["cam"]

        wait_until(lambda: cam().state == SourceState.IDLE and cam().counters.get("frames"),
                   60, "the first clip counted")
        # The source's own crossing counter, not the store: the batch holding the first clip's
        # crossings may still be on its way to the store when the source goes idle.
        frames, first = cam().counters["frames"], cam().counters["crossings"]
        assert frames > 0 and first > 0
        tmp = tmp_path / "cam.tmp"
        os.link(path, tmp)
        os.replace(tmp, device)  # the next slot: the same clip placed again
        wait_until(lambda: cam().counters["frames"] >= 2 * frames
                   and cam().state == SourceState.IDLE, 60, "the second clip counted")
        # Read exactly twice: never again while the first copy sat at the path unreplaced.
        assert cam().counters["frames"] == 2 * frames
    assert abs(total() - 2 * first) <= 2


def test_a_crossing_still_undecided_when_the_camera_goes_counts(monkeypatch) -> None:
    """The stream ends (unplugged, or the node stops): the tracks end with it, and what the
    pipeline decides then (Pipeline.finish: a foot over a line inside its dead-band) is
    counted, as count-video counts it at the end of a file."""
    from sensors.camera import pipeline as pipeline_module
    from sensors.camera.count import Crossing

    rng = np.random.default_rng(3)
    floor = rng.integers(60, 200, (240, 320, 3)).astype(np.uint8)
    offset = [0.0]
    plugged = [FlakyCamera([cv2_noise(floor, rng) for _ in range(20)], offset)]
    monkeypatch.setattr(capture, "open_capture", lambda d: plugged.pop() if plugged else None)
    ends: list[int] = []

    def finish(self: "pipeline_module.Pipeline") -> list[Crossing]:
        ends.append(self.frames)
        return [Crossing(0, "out", 1.0, 1)]

    monkeypatch.setattr(pipeline_module.Pipeline, "finish", finish)
    config = parse_config(Path("node.toml"), config_dict(device=0, reconnect_max_seconds=0.1))
    clock = lambda: time.time() + offset[0]  # noqa: E731
    source = CameraSource("cam", config.sources[0].options, SourceContext("n1", ROOT, clock))
    batches: list[Batch] = []
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(batches.append, stop, None))
    thread.start()
    try:
        wait_until(lambda: ends and any(o.count for b in batches for o in b.observations),
                   30, "the stream to end and its last crossing to be emitted")
    finally:
        stop.set()
        thread.join(10)
    assert ends == [20]
    counted = [(o.sensor, o.direction) for b in batches for o in b.observations if o.count]
    assert counted == [("cam.door", "out")]
    assert source.status().counters["crossings"] == 1
