"""Camera source options, validated from a `[[sources]]` table without importing cv2."""

from dataclasses import dataclass, field
from pathlib import Path

from sensors.camera.geometry import IN, OUT, CountLine
from walkway.config_table import ConfigTable
from walkway.keys import REQUIRED, Key, KeySpec

DETECTORS = ("auto", "motion", "hog", "dnn", "ssdlite")
LINE_NAME = r"[a-z0-9][a-z0-9_-]{0,31}"
LABEL = r"[a-z0-9][a-z0-9_-]{0,23}"


# Every [[sources]] key of type "camera", declared once: the validator, the dataclass
# defaults below, count-video's flags and docs/camera.md's table all read it.
PIPELINE_KEYS = KeySpec("sources.camera", [
    Key("detector", "text", "auto", "`auto`, `motion`, `hog`, `dnn` or `ssdlite`; auto: motion, "
        "and ssdlite once the learnt geometry shows an eye-level view", choices=DETECTORS),
    Key("process_width", "integer", 0, "width of the processing copy in pixels; 0 = auto: "
        "chosen from the learnt person size (motion, 160-480) or 480 (hog/dnn/ssdlite)",
        min=0, max=1920),
    Key("roi", "list", (), "polygon of at least three `[x, y]` points (0..1); outside is "
        "ignored", what="a list of [x, y] points from 0 to 1"),
    Key("min_area", "number", 0.0, "smallest blob, as a fraction of the picture; 0 = auto: "
        "a quarter of one person at that row once learnt, 0.001 before", min=0.0, max=0.5),
    Key("person_size", "list", None, "`[w, h]` of one person at the bottom edge (0..1); "
        "overrides the learnt size (none: learnt)",
        what="[width, height] of one person, 0..1"),
    Key("far_scale", "number", 1.0, "with `person_size`: person size at the top edge / at "
        "the bottom edge (perspective; 1 = overhead)", min=0.05, max=1.0),
    Key("background", "text", "average", "motion detector's background model",
        choices=("average", "mog2")),
    Key("background_seconds", "number", 30.0, "how long a person must stand still to "
        "become background", min=1.0, max=3600.0),
    # 16 (MOG2's own): with self-calibration and shadow suppression (issue 12), 22 errors
    # over the 49 reference crossings of the four real clips (TUD + CAVIAR) against 29 with
    # 25 (25 had been better on the two TUD clips alone with the earlier counter, issue 11).
    Key("var_threshold", "number", 16.0, "foreground when the difference exceeds "
        "sqrt(this) times the noise", min=4.0, max=400.0),
    Key("detect_every", "integer", 0, "run the detector on every Nth frame (the tracker "
        "predicts between); 0 = auto: live, as often as half a core allows (measured "
        "detector time), every frame on files", min=0, max=30),
    Key("model", "path", None, "dnn: model file (e.g. .caffemodel, .onnx); required for dnn",
        must_exist=True),
    Key("model_config", "path", None, "dnn: model config (e.g. .prototxt)", must_exist=True),
    Key("model_input", "integer", 300, "dnn input size (square)", min=32, max=1280),
    Key("model_class", "integer", 15, "dnn class id of \"person\"", min=0, max=10000),
    Key("model_confidence", "number", 0.5, "dnn/ssdlite minimum score", min=0.0, max=1.0),
    Key("keep_confidence", "number", 0.2, "ssdlite: a box scoring from this up to "
        "`model_confidence` continues a track (a person half hidden), never starts one",
        min=0.0, max=1.0),
    # 2: on the real clips 1 crop loses one corridor crossing against 2, 3 is the same as 2
    # (docs/camera.md, "Seventh session: the second look").
    Key("second_looks", "integer", 2, "ssdlite: at most this many extra inferences per "
        "frame, each on a square crop a little over one learnt person height wide centred "
        "on motion that no confident box covers (a walker the whole frame scores low); "
        "0 = off", min=0, max=8),
    Key("min_hits", "integer", 4, "detections before a track is confirmed", min=1, max=50),
    # 0.8 s: measured against 1.2 s with the person tracker on the ssdlite path, 1.2 s loses
    # one crossing on TUD-Stadtmitte (coasting that long at 25 fps takes up the wrong box) and
    # changes no other real clip; it gains on our renderer only (oblique hard 3 -> 2,
    # PETS-like 23 -> 20 errors). Real clips decide; a 7 fps site with long occlusions can
    # raise it.
    Key("max_missed_s", "number", 0.8, "how long a track survives without detections "
        "(occlusion)", min=0.0, max=30.0),
    Key("deadband", "number", 0.025, "dead-band around each line, fraction of the picture "
        "height", min=0.0, max=0.2),
])
HEALTH_KEYS = KeySpec("sources.camera", [
    Key("dark_level", "number", 18.0, "mean grey level below which (with little contrast) "
        "the lens counts as covered", min=0, max=255),
    Key("bright_level", "number", 235.0, "mean grey level above which (with little "
        "contrast) the lens counts as blinded", min=0, max=255),
    Key("flat_std", "number", 6.0, "contrast below which the picture has no detail "
        "(covered, fogged)", min=0, max=128),
    Key("frozen_seconds", "number", 5.0, "identical frames for this long: picture frozen",
        min=0.5, max=3600),
    Key("bad_seconds", "number", 3.0, "a covered/blinded/flat picture must last this long "
        "before it is reported", min=0.0, max=3600),
])
SOURCE_KEYS = KeySpec("sources.camera", [
    Key("device", "text", REQUIRED, "device index (0..63), video file path, or stream URL",
        what="a device index, video file path or stream URL"),
    Key("emit_seconds", "number", 1.0, "how often a batch is handed to the edge",
        min=0.1, max=60),
    Key("reconnect_max_seconds", "number", 30.0, "longest wait between reopen attempts",
        min=0.1, max=3600),
    Key("loop", "flag", False, "a video-file device starts again at its end (demos, soak "
        "tests)"),
    Key("follow", "flag", False, "a video-file device that is replaced by new clips (the "
        "simulator's camera feed): at a clip's end, wait for the next file, never replay it"),
    Key("fps", "number", 0.0, "frame rate to assume (0 = what the device reports, else 25)",
        min=0.0, max=240.0),
])
CAMERA_KEYS = SOURCE_KEYS + PIPELINE_KEYS + HEALTH_KEYS
P, H, S = PIPELINE_KEYS.default, HEALTH_KEYS.default, SOURCE_KEYS.default


@dataclass(frozen=True)
class PipelineOptions:
    """Everything the counting pipeline needs; sizes are normalised to the frame (0..1)."""

    lines: tuple[CountLine, ...] = ()
    detector: str = P("detector")
    process_width: int = P("process_width")  # 0: auto (see the key)
    roi: tuple[tuple[float, float], ...] = P("roi")
    min_area: float = P("min_area")
    person_size: tuple[float, float] | None = P("person_size")
    far_scale: float = P("far_scale")
    background: str = P("background")
    background_seconds: float = P("background_seconds")
    var_threshold: float = P("var_threshold")
    detect_every: int = P("detect_every")
    model: Path | None = P("model")
    model_config: Path | None = P("model_config")
    model_input: int = P("model_input")
    model_class: int = P("model_class")
    model_confidence: float = P("model_confidence")
    keep_confidence: float = P("keep_confidence")
    second_looks: int = P("second_looks")
    min_hits: int = P("min_hits")
    max_missed_s: float = P("max_missed_s")
    deadband: float = P("deadband")


@dataclass(frozen=True)
class HealthOptions:
    dark_level: float = H("dark_level")
    bright_level: float = H("bright_level")
    flat_std: float = H("flat_std")
    frozen_s: float = H("frozen_seconds")
    bad_s: float = H("bad_seconds")


@dataclass(frozen=True)
class CameraOptions:
    device: int | str
    pipeline: PipelineOptions
    health: HealthOptions = field(default_factory=HealthOptions)
    emit_s: float = S("emit_seconds")
    reconnect_max_s: float = S("reconnect_max_seconds")
    loop: bool = S("loop")
    follow: bool = S("follow")
    fps: float = S("fps")


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
    raw = t.read(PIPELINE_KEYS["roi"])
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
    text = t.read(SOURCE_KEYS["device"])
    if not text:
        return 0
    if "://" in text:
        return text
    return str(t.path("device"))


def parse_pipeline(t: ConfigTable) -> PipelineOptions:
    size = None
    if t.has("person_size"):
        size = t.read(PIPELINE_KEYS["person_size"])
        if not _pair(t, "person_size", size, 0.005, 1.0):
            size = None
    k = PIPELINE_KEYS
    detector = t.read(k["detector"])
    model = t.read(k["model"])
    if detector == "dnn" and model is None:
        t.problem("model", "a model file path when detector = \"dnn\"")
    return PipelineOptions(
        lines=_parse_lines(t),
        detector=detector,
        process_width=t.read(k["process_width"]),
        roi=_parse_roi(t),
        min_area=t.read(k["min_area"]),
        person_size=(float(size[0]), float(size[1])) if size else None,
        far_scale=t.read(k["far_scale"]),
        background=t.read(k["background"]),
        background_seconds=t.read(k["background_seconds"]),
        var_threshold=t.read(k["var_threshold"]),
        detect_every=t.read(k["detect_every"]),
        model=model,
        model_config=t.read(k["model_config"]),
        model_input=t.read(k["model_input"]),
        model_class=t.read(k["model_class"]),
        model_confidence=t.read(k["model_confidence"]),
        keep_confidence=t.read(k["keep_confidence"]),
        second_looks=t.read(k["second_looks"]),
        min_hits=t.read(k["min_hits"]),
        max_missed_s=t.read(k["max_missed_s"]),
        deadband=t.read(k["deadband"]),
    )


def parse_camera(t: ConfigTable) -> CameraOptions:
    h, k = HEALTH_KEYS, SOURCE_KEYS
    health = HealthOptions(
        dark_level=t.read(h["dark_level"]),
        bright_level=t.read(h["bright_level"]),
        flat_std=t.read(h["flat_std"]),
        frozen_s=t.read(h["frozen_seconds"]),
        bad_s=t.read(h["bad_seconds"]),
    )
    return CameraOptions(
        device=_parse_device(t),
        pipeline=parse_pipeline(t),
        health=health,
        emit_s=t.read(k["emit_seconds"]),
        reconnect_max_s=t.read(k["reconnect_max_seconds"]),
        loop=t.read(k["loop"]),
        follow=t.read(k["follow"]),
        fps=t.read(k["fps"]),
    )
