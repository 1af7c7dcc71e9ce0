"""Counting geometry: the direction convention of gt_crossings.py, dead-band, finite lines."""

from collections import defaultdict
from pathlib import Path

import pytest

from sensors.camera.count import LineCounter
from sensors.camera.geometry import (
    IN,
    OUT,
    crosses_segment,
    direction_of,
    parse_line_spec,
    reference_crossings,
)
from walkway.errors import UsageError

VIDEO = Path(__file__).resolve().parent / "data" / "video"


def load_gt(name: str) -> dict[int, list[tuple[int, tuple[float, float]]]]:
    tracks: dict[int, list[tuple[int, tuple[float, float]]]] = defaultdict(list)
    for row in (VIDEO / f"{name}_gt.txt").read_text().splitlines():
        if row.strip():
            frame, tid, left, top, w, h = (float(v) for v in row.split(",")[:6])
            tracks[int(tid)].append((int(frame), (left + w / 2, top + h)))
    return tracks


def test_vertical_line_top_to_bottom_counts_left_to_right_as_in() -> None:
    line = (0.5, 0.0, 0.5, 1.0)
    assert crosses_segment(line, (0.4, 0.5), (0.6, 0.5))
    assert direction_of(line, (0.6, 0.5)) == IN
    assert direction_of(line, (0.4, 0.5)) == OUT


def test_horizontal_line_left_to_right_counts_upward_as_in() -> None:
    line = (0.0, 0.5, 1.0, 0.5)
    assert direction_of(line, (0.5, 0.4)) == IN  # y grows downwards: 0.4 is above
    assert direction_of(line, (0.5, 0.6)) == OUT


def test_a_step_past_the_end_of_a_segment_is_no_crossing() -> None:
    line = (0.5, 0.0, 0.5, 0.5)
    assert not crosses_segment(line, (0.4, 0.8), (0.6, 0.8))


@pytest.mark.parametrize(
    ("clip", "line", "expected"),
    [  # the reference figures published with the clips (shared/data/README.md)
        ("TUD-Campus", (0.5, 0, 0.5, 1), {"in": 4, "out": 1}),
        ("TUD-Campus", (0.75, 0, 0.75, 1), {"in": 3, "out": 0}),
        ("TUD-Stadtmitte", (0.5, 0, 0.5, 1), {"in": 1, "out": 1}),
        ("TUD-Stadtmitte", (0.75, 0, 0.75, 1), {"in": 2, "out": 4}),
    ],
)
def test_reference_crossings_reproduce_the_published_ground_truth(clip, line, expected) -> None:
    scaled = (line[0] * 640, line[1] * 480, line[2] * 640, line[3] * 480)
    assert reference_crossings(load_gt(clip), scaled) == expected


@pytest.mark.parametrize(
    "spec", ["0.5,0,0.5", "a,b,c,d", "0.5,0,0.5,1.5", "0.2,0.2,0.2,0.2", "", "1,2,3,4,5"]
)
def test_bad_line_specs_say_what_was_expected(spec: str) -> None:
    with pytest.raises(UsageError, match="--line"):
        parse_line_spec(spec)


def test_parse_line_spec_accepts_four_normalised_numbers() -> None:
    assert parse_line_spec("0.5,0,0.5,1") == (0.5, 0.0, 0.5, 1.0)


def walk(counter: LineCounter, track: int, points: list[tuple[float, float]]) -> list[str]:
    return walk_timed(counter, track, points, 1.0)


def walk_timed(counter: LineCounter, track: int, points: list[tuple[float, float]],
               step: float) -> list[str]:
    return [e.direction for i, p in enumerate(points) for e in counter.update(track, p, i * step)]


def test_jitter_inside_the_dead_band_never_counts() -> None:
    counter = LineCounter(0, (100, 0, 100, 200), band=5)
    jitter = [(90, 100), (97, 100), (103, 100), (98, 100), (104, 100), (96, 100)]
    assert walk(counter, 1, jitter) == []


def test_walking_back_and_forth_over_the_line_counts_every_crossing() -> None:
    # Someone looping over a line, a second apart each time, crosses it five times, and the
    # reference (gt_crossings.py) counts five: so does the counter, for the same track.
    counter = LineCounter(0, (100, 0, 100, 200), band=5)
    path = [(80, 100), (110, 100), (90, 100), (112, 100), (88, 100), (120, 100)]
    assert walk(counter, 1, path) == [IN, OUT, IN, OUT, IN]
    path = [(80, 100), (110, 100), (90, 100), (112, 100), (88, 100), (120, 100)]
    assert reference_crossings({1: list(enumerate(path))}, (100, 0, 100, 200)) == {
        "in": 3, "out": 2}


def test_walking_round_the_end_of_a_segment_is_not_a_crossing() -> None:
    counter = LineCounter(0, (100, 0, 100, 100), band=5)
    assert walk(counter, 1, [(80, 150), (120, 150), (120, 50)]) == []


def test_a_track_born_inside_the_band_walking_away_from_the_line_does_not_count() -> None:
    counter = LineCounter(0, (100, 0, 100, 200), band=5)
    assert walk(counter, 7, [(101, 100), (103, 100), (120, 100)]) == []


def test_a_track_born_inside_the_band_counts_when_it_walks_out_the_other_side() -> None:
    # A person found at start-up (or out of an occlusion) right at the line.
    counter = LineCounter(0, (100, 0, 100, 200), band=5)
    assert walk(counter, 7, [(97, 100), (99, 100), (103, 100), (120, 100)]) == [IN]


def test_crossing_back_at_once_is_jitter_but_a_later_turn_back_counts() -> None:
    counter = LineCounter(0, (100, 0, 100, 200), band=5)
    there_and_back = [(90, 100), (110, 100), (90, 100)]

    def counted(track: int, times: list[float]) -> list[str]:
        return [e.direction for p, t in zip(there_and_back, times, strict=True)
                for e in counter.update(track, p, t)]

    assert counted(1, [0.0, 0.1, 0.2]) == [IN]  # back 0.1 s after the count: a bouncing box
    assert counted(2, [0.0, 0.1, 1.5]) == [IN, OUT]


SEVEN_FPS = 1 / 7


def test_a_person_turning_straight_back_counts_once_they_walk_on() -> None:
    # At 7 fps someone stepping just past the band and turning is back out of it one frame
    # after the first count, inside REVERSE_S: held, and counted when they walk on away
    # from the line (beyond two dead-bands), as the reference counts both crossings.
    line = (100, 0, 100, 200)
    turns = [(80, 100), (106, 100), (90, 100), (75, 100)]
    assert walk_timed(LineCounter(0, line, band=5), 1, turns, SEVEN_FPS) == [IN, OUT]
    assert reference_crossings({1: list(enumerate(turns))}, line) == {"in": 1, "out": 1}
    # A box bouncing back and staying at the line, or bouncing over again, counts once.
    stays = [(80, 100), (106, 100), (94, 100), (96, 100), (93, 100), (94, 100)]
    assert walk_timed(LineCounter(0, line, band=5), 1, stays, SEVEN_FPS) == [IN]
    again = [(80, 100), (106, 100), (94, 100), (108, 100)]
    assert walk_timed(LineCounter(0, line, band=5), 1, again, SEVEN_FPS) == [IN]


@pytest.mark.parametrize("end", ["forget", "finish"])
def test_a_crossing_back_still_held_when_the_track_or_the_stream_ends_counts(end: str) -> None:
    # Turned straight back and lost (out of sight, or another blob took the detection:
    # forget) or the stream ended (finish) before walking two bands on: it did not go back
    # over the line, so it walked on.
    line = (100, 0, 100, 200)
    counter = LineCounter(0, line, band=5)
    assert walk_timed(counter, 1, [(80, 100), (106, 100), (92, 100)], SEVEN_FPS) == [IN]
    ended = getattr(counter, end)(1)
    assert ended is not None and ended.direction == OUT
    assert ended.time == pytest.approx(2 * SEVEN_FPS)
    # Bounced back over the line right after a count, out of the band or inside it: nothing.
    for bounce in ([(94, 100), (108, 100)], [(98, 100)]):
        bounced = LineCounter(0, line, band=5)
        assert walk_timed(bounced, 1, [(80, 100), (106, 100), *bounce], SEVEN_FPS) == [IN]
        assert getattr(bounced, end)(1) is None


def test_stepping_over_the_line_and_straight_back_counts_both_ways() -> None:
    # Turning back with the foot just over the line, never out of the band beyond it: the
    # reference counts both crossings, timed when the foot went over and came back.
    line = (100, 0, 100, 200)
    step_over = [(80, 100), (98, 100), (102, 100), (97, 100), (80, 100)]
    counter = LineCounter(0, line, band=5)
    events = [e for i, p in enumerate(step_over) for e in counter.update(1, p, i * SEVEN_FPS)]
    assert [(e.direction, e.time) for e in events] == [
        (IN, pytest.approx(2 * SEVEN_FPS)), (OUT, pytest.approx(3 * SEVEN_FPS))]
    assert reference_crossings({1: list(enumerate(step_over))}, line) == {"in": 1, "out": 1}
    # Standing on the line for seconds (a box jittering over it) and going back: nothing.
    stands = [(80, 100), (98, 100)] + [(101 + i % 2 * -3, 100) for i in range(20)] + [(80, 100)]
    assert walk_timed(LineCounter(0, line, band=5), 1, stands, SEVEN_FPS) == []
    # A tracked foot overshoots where someone turns: one that only touched the line, a
    # quarter of the band past it, is taken for a turn short of it.
    touches = [(80, 100), (98, 100), (101, 100), (97, 100), (80, 100)]
    assert walk_timed(LineCounter(0, line, band=5), 1, touches, SEVEN_FPS) == []
    # A track born inside the band came from neither side.
    born = [(101, 100), (98, 100), (120, 100)]
    assert walk_timed(LineCounter(0, line, band=5), 1, born, SEVEN_FPS) == []


def boxed(counter: LineCounter, track: int, boxes: list[tuple[float, float, float, float]],
          step: float = 0.1) -> list[str]:
    """Count a track given its box (x, y, w, h) per frame, the foot at the bottom centre."""
    return [e.direction for i, (x, y, w, h) in enumerate(boxes)
            for e in counter.update(track, (x + w / 2, y + h), i * step, (x, y, w, h))]


# A blob standing with its foot above the line y = 100, growing down over the line for a
# second (a walker merging into a standing group, a reflection joining it) and back.
GROWS_AND_SHRINKS = [(50, 40, 20, 50 + 4 * min(i, 20 - i)) for i in range(21)]


def test_a_blob_growing_over_a_line_and_back_counts_nothing() -> None:
    line = (0, 100, 200, 100)
    assert walk(LineCounter(0, line, band=5), 1,
                [(x + w / 2, y + h) for x, y, w, h in GROWS_AND_SHRINKS]) == [OUT, IN]
    assert boxed(LineCounter(0, line, band=5), 1, GROWS_AND_SHRINKS) == []


def test_a_blob_that_grew_over_a_line_counts_once_it_walks_on() -> None:
    # Grown over the line at frame 10 (held), then the whole box walks down: counted then.
    grown = GROWS_AND_SHRINKS[:11]
    x, y, w, h = grown[-1]
    walks_on = grown + [(x, y + 6 * i, w, h) for i in range(1, 8)]
    counter = LineCounter(0, (0, 100, 200, 100), band=5)
    counted = [(i, e.direction) for i, (bx, by, bw, bh) in enumerate(walks_on)
               for e in counter.update(1, (bx + bw / 2, by + bh), i * 0.1, (bx, by, bw, bh))]
    assert len(counted) == 1 and counted[0][1] == OUT and counted[0][0] > 10


def test_a_walker_moving_as_a_whole_counts_at_once_with_or_without_its_box() -> None:
    boxes = [(90 + 4 * i, 50, 16, 40) for i in range(10)]  # walking right over x = 100
    feet = [(x + w / 2, y + h) for x, y, w, h in boxes]
    line = (100, 0, 100, 200)
    assert boxed(LineCounter(0, line, band=5), 1, boxes) == walk(
        LineCounter(0, line, band=5), 1, feet) == [IN]


def test_a_slow_crossing_is_timed_when_the_foot_went_over_the_line() -> None:
    # Creeping over x = 100 at 1 px a frame (a person shuffling in a standing group): over
    # the line at frame 5, out of the 5 px band at frame 11; the reference rule times it at
    # frame 5, and so does the event (it is counted at frame 11).
    counter = LineCounter(0, (100, 0, 100, 200), band=5)
    counted = [(i, e) for i in range(20) for e in counter.update(1, (95.5 + i, 100), i * 0.1)]
    assert len(counted) == 1
    frame, event = counted[0]
    assert frame == 10 and event.direction == IN
    assert event.time == pytest.approx(0.5)


def test_a_box_cut_by_the_picture_edge_takes_no_first_side() -> None:
    # Someone coming in at the left edge beside the line y = 100: the first blobs are their
    # upper body only (the box's bottom above the line), then their foot shows below it.
    # Taking a side from the cut boxes would count a crossing nobody made.
    line = (0, 100, 300, 100)
    feet = [((4, 80), True), ((9, 96), True), ((14, 112), True), ((30, 118), False),
            ((60, 117), False), ((90, 118), False)]
    counter = LineCounter(0, line, band=5)
    events = [e for i, (foot, cut) in enumerate(feet)
              for e in counter.update(1, foot, i * 0.1, cut=cut)]
    assert events == []
    plain = LineCounter(0, line, band=5)
    assert [e for i, (foot, _) in enumerate(feet) for e in plain.update(1, foot, i * 0.1)]


def test_a_box_cut_by_the_picture_edge_completes_a_crossing_begun_inside() -> None:
    # Walking out of the picture at the bottom over the line y = 180: the last boxes touch
    # the edge, but the side was taken while the whole person was seen.
    counter = LineCounter(0, (0, 180, 200, 180), band=5)
    feet = [((100, 150), False), ((100, 165), False), ((100, 186), True), ((100, 199), True)]
    events = [e for i, (foot, cut) in enumerate(feet)
              for e in counter.update(1, foot, i * 0.1, cut=cut)]
    assert [e.direction for e in events] == [OUT]


def test_the_motion_tracker_marks_boxes_cut_by_the_left_right_or_bottom_edge() -> None:
    import numpy as np

    from sensors.camera.track import Tracker

    tracker = Tracker()
    tracker.frame = (160, 120)
    for box, cut in (((0, 40, 8, 20), True), ((152, 40, 8, 20), True), ((70, 100, 8, 20), True),
                     ((70, 0, 8, 20), False), ((70, 40, 8, 20), False)):
        tracker.reset()
        tracker.update(np.array([box], np.float32), 0.0)
        assert tracker.tracks[0].cut is cut, box
        tracker.update(np.array([box], np.float32), 0.1)  # and when a box continues it
        assert tracker.tracks[0].cut is cut, box


def test_a_crossing_made_while_unseen_is_timed_between_the_sightings() -> None:
    # Seen 10 px before x = 100, then hidden behind a post for a second, then seen 30 px
    # past it: it went over a quarter of the way through the gap, not when seen again.
    counter = LineCounter(0, (100, 0, 100, 200), band=5)
    feet = [((80, 100), 0.0), ((90, 100), 0.1), ((130, 100), 1.1)]
    [event] = [e for foot, t in feet for e in counter.update(1, foot, t)]
    assert event.direction == IN and event.time == pytest.approx(0.35)


def test_a_crossing_still_inside_the_band_when_the_stream_ends_is_decided_by_the_line() -> None:
    # A walker whose foot went over the line in the clip's last frames, still inside the
    # dead-band: no later frame will show it leave the band, so at the end the line itself
    # decides, as the reference rule (gt_crossings.py) does.
    line = (100, 0, 100, 200)
    counter = LineCounter(0, line, band=5)
    assert walk_timed(counter, 1, [(80, 100), (90, 100), (98, 100), (102, 100)], 0.04) == []
    ended = counter.finish(1)
    assert ended is not None and ended.direction == IN
    assert ended.time == pytest.approx(0.12)  # when the foot went over (25 fps)
    assert reference_crossings({1: list(enumerate([(80, 100), (90, 100), (98, 100),
                                                    (102, 100)]))}, line) == {"in": 1, "out": 0}
    # Short of the line, or over it and back, it crossed nothing; nor did a track
    # the counter never saw.
    short = LineCounter(0, line, band=5)
    walk(short, 1, [(80, 100), (90, 100), (98, 100)])
    assert short.finish(1) is None
    back = LineCounter(0, line, band=5)
    walk(back, 1, [(80, 100), (90, 100), (102, 100), (97, 100)])
    assert back.finish(1) is None and back.finish(2) is None


def test_the_pipeline_decides_every_confirmed_track_when_the_stream_ends() -> None:
    from sensors.camera.geometry import CountLine
    from sensors.camera.options import PipelineOptions
    from sensors.camera.pipeline import Pipeline
    from sensors.camera.track import Track

    options = PipelineOptions(lines=(CountLine("l", 0.5, 0.0, 0.5, 1.0),), detector="motion",
                              person_size=(0.1, 0.3), process_width=320)
    pipeline = Pipeline(options, (320, 240), 25.0)
    walker = Track(1, 140.0, 100.0, 20.0, 60.0, 0.0, confirmed=True)
    noise = Track(2, 140.0, 180.0, 20.0, 60.0, 0.0)
    pipeline.tracker.tracks = [walker, noise]
    for step, x in enumerate((140.0, 150.0, 158.0, 162.0)):  # line at x = 160, band 6 px
        for track in (walker, noise):
            track.cx = x
            assert pipeline.counters[0].update(track.id, track.foot, step / 25) == []
    events = pipeline.finish()
    assert [(e.track, e.direction) for e in events] == [(1, IN)]
    assert pipeline.counts == [{"in": 1, "out": 0}]
    assert pipeline.counters[0].states == {}
    # Two confirmed tracks on one body (a split blob), feet together: one crossing.
    split = Pipeline(options, (320, 240), 25.0)
    halves = [Track(i, 140.0, 100.0 + i, 20.0, 60.0, 0.0, confirmed=True) for i in (1, 2)]
    split.tracker.tracks = list(halves)
    for step, x in enumerate((140.0, 150.0, 158.0, 162.0)):
        for track in halves:
            track.cx = x
            split.counters[0].update(track.id, track.foot, step / 25)
    assert len(split.finish()) == 1 and split.counts == [{"in": 1, "out": 0}]


def test_count_video_decides_the_tracks_at_the_end_of_the_file(tmp_path, monkeypatch) -> None:
    import cv2
    import numpy as np

    from sensors.camera import pipeline as pipeline_module
    from sensors.camera.count import Crossing
    from sensors.camera.geometry import CountLine
    from sensors.camera.options import PipelineOptions
    from sensors.camera.video import count_video_events

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    for _ in range(5):
        writer.write(np.full((120, 160, 3), 90, np.uint8))
    writer.release()
    ended = Crossing(0, IN, 0.16, 7)
    finished = []

    def finish(self: "pipeline_module.Pipeline") -> list[Crossing]:
        finished.append(self.frames)
        self.counts[0][IN] += 1
        return [ended]

    monkeypatch.setattr(pipeline_module.Pipeline, "finish", finish)
    options = PipelineOptions(lines=(CountLine("l", 0.5, 0.0, 0.5, 1.0),), detector="motion",
                              person_size=(0.1, 0.3))
    run = count_video_events(str(path), options)
    assert finished == [5]  # once, after the last frame
    assert run.events == [(0, IN, 0.16)]
    assert run.result["lines"][0]["in"] == 1


def test_a_foot_that_went_over_the_line_beyond_its_end_is_no_crossing() -> None:
    # A walker leaving the picture at a slant past a line that ends short of the edge: the
    # step from the last point outside the band to the first out of it on the other side
    # passes through the segment, but the foot itself went over the line beyond its end,
    # as the reference, stepping frame by frame, sees it.
    line = (100, 0, 100, 100)
    slant = [(90, 60), (97, 95), (103, 107), (110, 115)]
    assert crosses_segment(line, slant[0], slant[-1])
    assert reference_crossings({1: list(enumerate(slant))}, line) == {"in": 0, "out": 0}
    assert walk(LineCounter(0, line, band=5), 1, slant) == []
    # Over the segment itself, the same slant counts.
    assert walk(LineCounter(0, line, band=5), 1, [(x, y - 10) for x, y in slant]) == [IN]
    # An end on the picture's border reaches on beyond it: a tracked foot carried out of
    # the picture there still crossed the line as drawn.
    assert walk(LineCounter(0, line, band=5, frame=(200, 100)), 1, slant) == [IN]


def test_a_track_carried_out_of_the_picture_over_a_line_inside_the_band_counts() -> None:
    # A far walker crossing a line at a slant just before leaving the picture is lost
    # with the foot over the line but still inside the band: the track ends carried out
    # of the picture ("gone"), and the crossing counts, timed when the foot went over.
    line = (100, 0, 100, 200)
    leaving = [(80, 30), (90, 20), (97, 12), (103, 6)]
    counter = LineCounter(0, line, band=5)
    assert walk_timed(counter, 1, leaving, SEVEN_FPS) == []
    gone = counter.forget(1, gone=True)
    assert gone is not None and gone.direction == IN
    assert gone.time == pytest.approx(3 * SEVEN_FPS)
    # Lost in the picture (occluded: it may come back or turn), nothing.
    counter = LineCounter(0, line, band=5)
    walk_timed(counter, 1, leaving, SEVEN_FPS)
    assert counter.forget(1) is None
    # A foot that only touched the line, or a last box cut by the picture's edge (the
    # blob shrinking into the side edge, its bottom rising), counts nothing.
    counter = LineCounter(0, line, band=5)
    walk_timed(counter, 1, leaving[:3] + [(101, 6)], SEVEN_FPS)
    assert counter.forget(1, gone=True) is None
    counter = LineCounter(0, line, band=5)
    for i, foot in enumerate(leaving):
        counter.update(1, foot, i * SEVEN_FPS, cut=i == len(leaving) - 1)
    assert counter.forget(1, gone=True) is None


def test_a_turn_at_the_line_after_a_slanting_approach_counts_both_ways() -> None:
    # A walker nearing a line at a slant (mostly along it) spends two seconds inside the
    # band before stepping over it and straight back: the turn is timed from when the foot
    # went over the line, not from when it entered the band.
    line = (100, 0, 100, 200)
    creep = [(90, 10)] + [(96 + i * 0.2, 20 + 10 * i) for i in range(14)]
    slant = creep + [(103, 170), (98, 180), (90, 190)]
    assert walk_timed(LineCounter(0, line, band=5), 1, slant, SEVEN_FPS) == [IN, OUT]
    assert reference_crossings({1: list(enumerate(slant))}, line) == {"in": 1, "out": 1}
