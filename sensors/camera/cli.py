"""`walkway count-video`. cv2 is imported inside the handler.

(`walkway calibrate` reads a node config, so it is an edge command: edge/cli.py.)"""

import argparse
import json
from pathlib import Path

from sensors.camera.geometry import CountLine, parse_line_spec
from sensors.camera.options import DETECTORS, PipelineOptions
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
    count.add_argument("--detector", choices=DETECTORS, default="motion",
                       help="motion (default), hog or dnn")
    count.add_argument("--json", action="store_true", help="print one JSON object")
    count.add_argument("--background", choices=("average", "mog2"), default="average",
                       help="motion detector's background model (default average)")
    count.add_argument("--width", type=int, default=0, metavar="PX",
                       help="processing width in pixels (default: 160 motion, 480 hog/dnn)")
    count.add_argument("--person-size", metavar="W,H",
                       help="one person's box at the bottom of the frame, 0..1 (splits groups)")
    count.add_argument("--far-scale", type=float, default=1.0, metavar="F",
                       help="person size at the top edge relative to the bottom (default 1)")
    count.add_argument("--min-area", type=float, default=0.002, metavar="A",
                       help="smallest blob, as a fraction of the frame (default 0.002)")
    count.add_argument("--model", type=Path, help="dnn: model file (e.g. .caffemodel, .onnx)")
    count.add_argument("--model-config", type=Path, help="dnn: model config (e.g. .prototxt)")
    count.add_argument("--detect-every", type=int, default=1, metavar="N",
                       help="run the detector on every Nth frame (tracker predicts between)")
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
    if not 0.05 <= args.far_scale <= 1:
        raise UsageError(f"--far-scale {args.far_scale}: expected a number from 0.05 to 1")
    if args.width < 0 or args.detect_every < 1 or not 0 <= args.min_area < 0.5:
        raise UsageError("--width >= 0, --detect-every >= 1 and --min-area in 0..0.5 expected")
    return PipelineOptions(
        lines=lines,
        detector=args.detector,
        background=args.background,
        process_width=args.width,
        person_size=_pair(args.person_size, "--person-size"),
        far_scale=args.far_scale,
        min_area=args.min_area,
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
