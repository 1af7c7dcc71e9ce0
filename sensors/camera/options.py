"""Camera source options, validated from a `[[sources]]` table without importing cv2."""

from dataclasses import dataclass, field
from pathlib import Path

from sensors.camera.geometry import IN, OUT, CountLine
from walkway.config_table import ConfigTable

DETECTORS = ("motion", "hog", "dnn")
LINE_NAME = r"[a-z0-9][a-z0-9_-]{0,31}"
LABEL = r"[a-z0-9][a-z0-9_-]{0,23}"


@dataclass(frozen=True)
class PipelineOptions:
    """Everything the counting pipeline needs; sizes are normalised to the frame (0..1)."""

    lines: tuple[CountLine, ...] = ()
    detector: str = "motion"
    process_width: int = 0  # 0: auto, 160 for motion, 480 for hog/dnn
    roi: tuple[tuple[float, float], ...] = ()
    min_area: float = 0.002
    person_size: tuple[float, float] | None = None
    far_scale: float = 1.0
    background: str = "average"
    background_seconds: float = 30.0
    var_threshold: float = 16.0
    detect_every: int = 1
    model: Path | None = None
    model_config: Path | None = None
    model_input: int = 300
    model_class: int = 15
    model_confidence: float = 0.5
    min_hits: int = 4
    max_missed_s: float = 0.8
    deadband: float = 0.03


@dataclass(frozen=True)
class HealthOptions:
    dark_level: float = 18.0
    bright_level: float = 235.0
    flat_std: float = 6.0
    frozen_s: float = 5.0
    bad_s: float = 3.0


@dataclass(frozen=True)
class CameraOptions:
    device: int | str
    pipeline: PipelineOptions
    health: HealthOptions = field(default_factory=HealthOptions)
    emit_s: float = 1.0
    reconnect_max_s: float = 30.0
    loop: bool = False
    fps: float = 0.0


def _pair(t: ConfigTable, name: str, value: object, lo: float, hi: float) -> bool:
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and all(lo <= v <= hi for v in value)
    )
    if not ok:
        t.problem(name, f"[a, b] with numbers from {lo} to {hi}", value)
    return ok


def _parse_lines(t: ConfigTable) -> tuple[CountLine, ...]:
    lines: list[CountLine] = []
    for lt in t.tables("lines"):
        name = lt.text("name", pattern=LINE_NAME, what="a line name")
        pts = lt.array("points", what="[x1, y1, x2, y2] from 0 to 1")
        ok = (
            len(pts) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pts)
            and all(0 <= v <= 1 for v in pts)
            and pts[:2] != pts[2:]
        )
        if not ok:
            lt.problem("points", "[x1, y1, x2, y2] from 0 to 1 with two different ends", pts)
            pts = [0.0, 0.0, 1.0, 1.0]
        in_label = lt.text("in", IN, pattern=LABEL, what="a direction label")
        out_label = lt.text("out", OUT, pattern=LABEL, what="a direction label")
        if in_label == out_label:
            lt.problem("out", "a label different from `in`", out_label)
        lt.finish()
        if name in {line.name for line in lines}:
            lt.problem("name", "a line name unique within the source", name)
        lines.append(CountLine(name or "line", *(float(v) for v in pts), in_label, out_label))
    if not lines:
        t.problem("lines", "at least one [[sources.lines]] table")
    return tuple(lines)


def _parse_roi(t: ConfigTable) -> tuple[tuple[float, float], ...]:
    raw = t.array("roi", [], what="a list of [x, y] points from 0 to 1")
    points = []
    for item in raw:
        if not _pair(t, "roi", item, 0.0, 1.0):
            return ()
        points.append((float(item[0]), float(item[1])))
    if points and len(points) < 3:
        t.problem("roi", "at least three [x, y] points", raw)
        return ()
    return tuple(points)


def _parse_device(t: ConfigTable) -> int | str:
    value = t.data.get("device")
    if isinstance(value, int) and not isinstance(value, bool):
        return t.integer("device", min=0, max=63)
    text = t.text("device", what="a device index, video file path or stream URL")
    if not text:
        return 0
    if "://" in text:
        return text
    return str(t.path("device"))


def parse_pipeline(t: ConfigTable) -> PipelineOptions:
    size = None
    if t.has("person_size"):
        size = t.array("person_size", what="[width, height] of one person, 0..1")
        if not _pair(t, "person_size", size, 0.005, 1.0):
            size = None
    detector = t.text("detector", "motion", choices=DETECTORS)
    model = t.path("model", None, must_exist=True)
    if detector == "dnn" and model is None:
        t.problem("model", "a model file path when detector = \"dnn\"")
    return PipelineOptions(
        lines=_parse_lines(t),
        detector=detector,
        process_width=t.integer("process_width", 0, min=0, max=1920),
        roi=_parse_roi(t),
        min_area=t.number("min_area", 0.002, min=0.0, max=0.5),
        person_size=(float(size[0]), float(size[1])) if size else None,
        far_scale=t.number("far_scale", 1.0, min=0.05, max=1.0),
        background=t.text("background", "average", choices=("average", "mog2")),
        background_seconds=t.number("background_seconds", 30.0, min=1.0, max=3600.0),
        var_threshold=t.number("var_threshold", 25.0, min=4.0, max=400.0),
        detect_every=t.integer("detect_every", 1, min=1, max=30),
        model=model,
        model_config=t.path("model_config", None, must_exist=True),
        model_input=t.integer("model_input", 300, min=32, max=1280),
        model_class=t.integer("model_class", 15, min=0, max=10000),
        model_confidence=t.number("model_confidence", 0.5, min=0.0, max=1.0),
        min_hits=t.integer("min_hits", 4, min=1, max=50),
        max_missed_s=t.number("max_missed_s", 0.8, min=0.0, max=30.0),
        deadband=t.number("deadband", 0.03, min=0.0, max=0.2),
    )


def parse_camera(t: ConfigTable) -> CameraOptions:
    health = HealthOptions(
        dark_level=t.number("dark_level", 18.0, min=0, max=255),
        bright_level=t.number("bright_level", 235.0, min=0, max=255),
        flat_std=t.number("flat_std", 6.0, min=0, max=128),
        frozen_s=t.number("frozen_seconds", 5.0, min=0.5, max=3600),
        bad_s=t.number("bad_seconds", 3.0, min=0.0, max=3600),
    )
    return CameraOptions(
        device=_parse_device(t),
        pipeline=parse_pipeline(t),
        health=health,
        emit_s=t.number("emit_seconds", 1.0, min=0.1, max=60),
        reconnect_max_s=t.number("reconnect_max_seconds", 30.0, min=0.1, max=3600),
        loop=t.flag("loop", False),
        fps=t.number("fps", 0.0, min=0.0, max=240.0),
    )
