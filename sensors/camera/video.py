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


def _learn_sizes(path: str, options: PipelineOptions, samples: list) -> list:
    """Offline only: a first pass over the file that only learns the person size, as a live
    camera does over its first minutes, so short files are counted with it from the start."""
    from sensors.camera.pipeline import Pipeline

    cap = open_capture(path)
    if cap is None:
        return []
    try:
        ok, frame = cap.read()
        if not ok:
            return []
        fps = frame_rate(cap)
        learner = Pipeline(replace(options, lines=()), (frame.shape[1], frame.shape[0]), fps)
        learner.seed_background(samples)
        n = 0
        while ok:
            learner.process(frame, n / fps)
            n += 1
            ok, frame = cap.read()
    finally:
        cap.release()
    return list(learner.sizes.samples)


def _samples(path: str) -> list:
    """About SAMPLES frames spread evenly over a video file (a first, decode-only pass)."""
    cap = open_capture(path)
    if cap is None:
        return []
    import cv2

    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    step = max(1, total // SAMPLES) if total > 0 else 1
    kept = []
    try:
        index = 0
        while len(kept) < SAMPLES:
            ok, frame = cap.read()
            if not ok:
                break
            if index % step == 0:
                kept.append(frame)
            index += 1
    finally:
        cap.release()
    return kept
