"""Offline counting of a video file with the same pipeline as the live source."""

from dataclasses import dataclass, replace
from pathlib import Path

from sensors.camera.capture import frame_rate, is_file, open_capture
from sensors.camera.options import PipelineOptions
from walkway.errors import InputFileError


def count_video(source: str, options: PipelineOptions) -> dict:
    """Count `options.lines` in a video file or stream URL.

    Returns {"frames": N, "seconds": S, "lines": [{"line": [x1,y1,x2,y2], "in": A,
    "out": B}, ...]}; `seconds` is the video's own duration (frames / frame rate).
    """
    return count_video_events(source, options).result


@dataclass
class VideoRun:
    """`count_video`'s result, every crossing (line index, direction, seconds), the frame
    rate and the frame size (width, height) of the video."""

    result: dict
    events: list[tuple[int, str, float]]
    fps: float
    size: tuple[int, int]


def count_video_events(source: str, options: PipelineOptions) -> VideoRun:
    from sensors.camera.pipeline import Pipeline

    if is_file(source) and not Path(source).exists():
        raise InputFileError(f"{source}: no such video file")
    if is_file(source) and not Path(source).is_file():
        raise InputFileError(f"{source}: expected a video file, got a directory")
    cap = open_capture(source)
    if cap is None:
        raise InputFileError(f"{source}: cannot open video (unreadable file or stream)")
    try:
        ok, frame = cap.read()
        if not ok or frame is None:
            raise InputFileError(f"{source}: cannot decode any frame (not a video, or no codec)")
        fps = frame_rate(cap)
        frame_size = (frame.shape[1], frame.shape[0])
        pipeline = Pipeline(options, frame_size, fps)
        if is_file(source):
            samples = _samples(source)
            pipeline.seed_background(samples)
            if options.person_size is None:
                pipeline.sizes.warm_start(_learn_sizes(source, options, samples))
        frames = 0
        events = []
        while ok:
            for e in pipeline.process(frame, frames / fps):
                events.append((e.line, e.direction, e.time))
            frames += 1
            ok, frame = cap.read()
        # The file ended: so do the tracks (a crossing still undecided is decided).
        for e in pipeline.finish():
            events.append((e.line, e.direction, e.time))
    finally:
        cap.release()
    return VideoRun({
        "frames": frames,
        "seconds": round(frames / fps, 3),
        "lines": [
            {"line": list(line.points), "in": c["in"], "out": c["out"]}
            for line, c in zip(options.lines, pipeline.counts, strict=True)
        ],
    }, events, fps, frame_size)


SAMPLES = 15
# The offline warm-up watches a short file again and again, as a node watches its scene for
# minutes before its counts matter, until it has seen this much footage (or enough people).
WARM_UP_S = 60.0
WARM_UP_PASSES = 20


def _learn_sizes(path: str, options: PipelineOptions, samples: list) -> list:
    """Offline only: passes over the file that only learn the person size, as a live camera
    does over its first minutes, so short files are counted with it from the start. Each
    pass is a fresh pipeline (new tracks); the file is replayed until WARM_UP_S of footage
    were watched or the samples fill the model."""
    from sensors.camera.autosize import MAX_SAMPLES
    from sensors.camera.pipeline import Pipeline

    learnt: list = []
    watched = 0.0
    offset = 0
    for _ in range(WARM_UP_PASSES):
        cap = open_capture(path)
        if cap is None:
            return learnt
        try:
            ok, frame = cap.read()
            if not ok:
                return learnt
            fps = frame_rate(cap)
            # "auto" learns the geometry with the motion detector on every frame, as live.
            auto = options.detector == "auto"
            learner = Pipeline(replace(options, lines=(), detector="motion" if auto else
                                       options.detector,
                                       detect_every=1 if auto else options.detect_every),
                               (frame.shape[1], frame.shape[0]), fps)
            learner.seed_background(samples)
            n = 0
            while ok:
                learner.process(frame, n / fps)
                n += 1
                ok, frame = cap.read()
        finally:
            cap.release()
        # Track ids of a new pass are new people to the model (a node sees the same people
        # walk by only once, but many like them).
        learnt.extend((y, w, h, tid + offset) for y, w, h, tid in learner.sizes.samples)
        offset += learner.tracker._next_id
        watched += n / fps
        if watched >= WARM_UP_S or len(learnt) >= MAX_SAMPLES or n == 0:
            break
    return learnt


def _samples(path: str) -> list:
    """About SAMPLES frames spread evenly over a video file (a first, decode-only pass).

    The container's frame count is not trusted (MPEG-1 files report 3): every `step`-th
    frame is kept, and when twice SAMPLES are held every other one is dropped and the step
    doubled, so the frames kept stay evenly spread and bounded in number."""
    cap = open_capture(path)
    if cap is None:
        return []
    kept: list = []
    step = 1
    try:
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if index % step == 0:
                kept.append(frame)
                if len(kept) >= 2 * SAMPLES:
                    kept = kept[::2]
                    step *= 2
            index += 1
    finally:
        cap.release()
    return kept[:: max(1, len(kept) // SAMPLES)][:2 * SAMPLES]
