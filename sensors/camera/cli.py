"""`walkway count-video`. cv2 is imported inside the handler.

(`walkway calibrate` reads a node config, so it is an edge command: edge/cli.py.)"""

import argparse
import json
from pathlib import Path

from sensors.camera.geometry import CountLine, parse_line_spec
from sensors.camera.options import PIPELINE_KEYS, PipelineOptions
from walkway.errors import UsageError


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    count = subparsers.add_parser(
        "count-video",
        help="count line crossings in a video file with the camera pipeline",
        description="Count pedestrians crossing lines in a video file or stream (offline).",
    )
    count.add_argument("file", help="video file (or stream URL)")
    count.add_argument("--line", action="append", required=True, metavar="X1,Y1,X2,Y2",
                       help="counting segment in 0..1 coordinates (repeatable); "
                       "'in' is towards the left of A->B")
    k = PIPELINE_KEYS  # the flags mirror the camera source's config keys (docs/camera.md)
    count.add_argument("--detector", **k["detector"].flag_kwargs())
    count.add_argument("--json", action="store_true", help="print one JSON object")
    count.add_argument("--background", **k["background"].flag_kwargs())
    count.add_argument("--width", metavar="PX", **k["process_width"].flag_kwargs())
    count.add_argument("--person-size", metavar="W,H", help=k["person_size"].help)
    count.add_argument("--far-scale", metavar="F", **k["far_scale"].flag_kwargs())
    count.add_argument("--min-area", metavar="A", **k["min_area"].flag_kwargs())
    count.add_argument("--var-threshold", metavar="V", **k["var_threshold"].flag_kwargs())
    count.add_argument("--model", type=Path, help=k["model"].help)
    count.add_argument("--model-config", type=Path, help=k["model_config"].help)
    count.add_argument("--detect-every", metavar="N", **k["detect_every"].flag_kwargs())
    count.set_defaults(handler=_count_video)


def _pair(text: str | None, flag: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected W,H (two numbers from 0 to 1)") from None
    if not (0 < w <= 1 and 0 < h <= 1):
        raise UsageError(f"{flag} {text!r}: expected W,H (two numbers from 0 to 1)")
    return w, h


def options_from_args(args: argparse.Namespace) -> PipelineOptions:
    lines = tuple(
        CountLine(f"line{i + 1}", *parse_line_spec(spec)) for i, spec in enumerate(args.line)
    )
    if args.detector == "dnn" and (args.model is None or not args.model.is_file()):
        raise UsageError(f"--model {args.model}: the dnn detector needs an existing model file")
    k = PIPELINE_KEYS
    for flag, name, value in (("--far-scale", "far_scale", args.far_scale),
                              ("--width", "process_width", args.width),
                              ("--detect-every", "detect_every", args.detect_every),
                              ("--min-area", "min_area", args.min_area),
                              ("--var-threshold", "var_threshold", args.var_threshold)):
        k[name].check(value, flag)
    return PipelineOptions(
        lines=lines,
        detector=args.detector,
        background=args.background,
        process_width=args.width,
        person_size=_pair(args.person_size, "--person-size"),
        far_scale=args.far_scale,
        min_area=args.min_area,
        var_threshold=args.var_threshold,
        model=args.model,
        model_config=args.model_config,
        detect_every=args.detect_every,
    )


def _count_video(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    from sensors.camera.video import count_video

    result = count_video(str(args.file), options)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['frames']} frames, {result['seconds']:.1f} s")
    print(f"{'line (x1,y1,x2,y2)':<28} {'in':>6} {'out':>6}")
    for item in result["lines"]:
        spec = ",".join(f"{v:g}" for v in item["line"])
        print(f"{spec:<28} {item['in']:>6} {item['out']:>6}")
    return 0
