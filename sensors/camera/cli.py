"""`walkway count-video`. cv2 is imported inside the handler.

(`walkway calibrate` reads a node config, so it is an edge command: edge/cli.py.)"""

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from sensors.camera.geometry import CountLine, parse_line_spec
from sensors.camera.options import PIPELINE_KEYS, PipelineOptions
from walkway.errors import UsageError

if TYPE_CHECKING:
    from sensors.camera.video import VideoRun


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
    count.add_argument("--gt", type=Path, metavar="GT.txt",
                       help="MOTChallenge ground truth (frame,id,left,top,width,height,...): "
                       "adds the reference count, error and matched events per line")
    count.add_argument("--ignore", action="append", default=[], metavar="idN@F:DIR",
                       help="with --gt: leave out this reference event (e.g. annotation "
                       "jitter listed in a counts.json; repeatable)")
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
    if args.ignore and args.gt is None:
        raise UsageError("--ignore: only meaningful with --gt")
    from sensors.camera.score import load_mot
    from sensors.camera.video import count_video_events

    tracks = load_mot(args.gt) if args.gt is not None else None
    run = count_video_events(str(args.file), options)
    result = run.result
    if tracks is not None:
        _add_scores(result, run, tracks, args.ignore)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['frames']} frames, {result['seconds']:.1f} s")
    scored = "reference" in result["lines"][0]
    head = f"{'line (x1,y1,x2,y2)':<28} {'in':>6} {'out':>6}"
    if scored:
        head += f" {'ref in':>7} {'ref out':>7} {'tp':>4} {'fp':>4} {'fn':>4}"
    print(head)
    for item in result["lines"]:
        spec = ",".join(f"{v:g}" for v in item["line"])
        row = f"{spec:<28} {item['in']:>6} {item['out']:>6}"
        if scored:
            ref = item["reference"]
            row += (f" {ref['in']:>7} {ref['out']:>7} {item['tp']:>4} {item['fp']:>4}"
                    f" {item['fn']:>4}")
        print(row)
    if scored:
        s = result["score"]
        print(f"accuracy {s['accuracy']:.3f} (per direction, {s['reference']} reference "
              f"crossings), event F1 {s['f1']:.3f} (tp {s['tp']} fp {s['fp']} fn {s['fn']})")
    return 0


def _add_scores(result: dict, run: "VideoRun", tracks: dict, ignore: list[str]) -> None:
    """Per line: reference counts, error, tp/fp/fn; and the overall `score`."""
    from sensors.camera.score import score_line, summary

    width, height = run.size
    scores = []
    for index, item in enumerate(result["lines"]):
        x1, y1, x2, y2 = item["line"]
        counted = [(t, d) for i, d, t in run.events if i == index]
        score = score_line(tracks, (x1 * width, y1 * height, x2 * width, y2 * height),
                           counted, run.fps, ignore)
        item.update(score.as_dict())
        scores.append(score)
    result["score"] = summary(scores)
