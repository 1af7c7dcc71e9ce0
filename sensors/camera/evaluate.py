"""Real clips with ground truth, and scoring a counter over them (bench and tests).

A clip is a video, its MOT ground truth, the lines to score and the reference events to leave
out (annotation jitter that counts.json names). Clips are found in the project's tests/data
and, when present, in ../shared/data (the same clip in both is taken once).
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sensors.camera.score import LineScore, load_mot, score_line

# Eye-level TUD clips: people walk across the picture, so vertical lines cut their paths.
TUD_LINES = ((0.25, 0.0, 0.25, 1.0), (0.4, 0.0, 0.4, 1.0), (0.5, 0.0, 0.5, 1.0),
             (0.6, 0.0, 0.6, 1.0), (0.75, 0.0, 0.75, 1.0))

# A counter: (video path, lines) -> ((line index, direction, seconds) events, fps, size).
Counter = Callable[[str, tuple], tuple[list[tuple[int, str, float]], float, tuple[int, int]]]


@dataclass(frozen=True)
class Clip:
    name: str
    video: Path
    gt: Path
    lines: tuple[tuple[float, float, float, float], ...]
    ignore: tuple[str, ...] = ()


def _line(text: str) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in text.split(","))
    return (x1, y1, x2, y2)


def _from_counts(folder: Path) -> Clip | None:
    counts = folder / "counts.json"
    if not counts.is_file():
        return None
    data = json.loads(counts.read_text())
    videos = [p for p in folder.iterdir() if p.suffix in (".mpg", ".mp4", ".avi")]
    if not videos:
        return None
    lines = tuple(_line(item["line"]) for item in data["lines"])
    ignore = tuple(e for item in data["lines"] for e in item.get("jitter_events", []))
    return Clip(data["clip"], videos[0], folder / data["gt"], lines, ignore)


def real_clips(*roots: Path) -> list[Clip]:
    """Every clip with ground truth under `roots` (each a data/video folder), once by name."""
    found: dict[str, Clip] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for gt in sorted(root.glob("*_gt.txt")):
            name = gt.name[: -len("_gt.txt")]
            video = gt.with_name(f"{name}.mp4")
            if video.is_file():
                found.setdefault(name, Clip(name, video, gt, TUD_LINES))
        for folder in sorted(p for p in root.glob("*/*") if p.is_dir()):
            clip = _from_counts(folder)
            if clip is not None:
                found.setdefault(clip.name, clip)
    return list(found.values())


def score_clip(clip: Clip, counter: Counter) -> list[LineScore]:
    """Run `counter` on the clip and score every line (jitter events left out)."""
    events, fps, (width, height) = counter(str(clip.video), clip.lines)
    tracks = load_mot(clip.gt)
    scores = []
    for index, (x1, y1, x2, y2) in enumerate(clip.lines):
        counted = [(t, d) for i, d, t in events if i == index]
        line_px = (x1 * width, y1 * height, x2 * width, y2 * height)
        scores.append(score_line(tracks, line_px, counted, fps, clip.ignore))
    return scores


def our_counter(**overrides: object) -> Counter:
    """The project's pipeline with default settings (plus `overrides`), as count-video runs."""
    from sensors.camera.geometry import CountLine
    from sensors.camera.options import PipelineOptions
    from sensors.camera.video import count_video_events

    def run(video: str, lines: Iterable) -> tuple[list, float, tuple[int, int]]:
        counted = tuple(CountLine(f"l{i}", *ln) for i, ln in enumerate(lines))
        got = count_video_events(video, PipelineOptions(lines=counted, **overrides))  # type: ignore[arg-type]
        return got.events, got.fps, got.size

    return run
