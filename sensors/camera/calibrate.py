"""`walkway calibrate`: the ONE place a camera frame is ever written, as a local still for a
crew placing lines. It is written only where the crew asks (`--out`), never sent anywhere.
With `--learn SECONDS` it first watches the scene and shows the person size it learnt."""

from pathlib import Path

import cv2
import numpy as np

from sensors.camera.autosize import SizeFit
from sensors.camera.capture import describe, frame_rate, open_capture
from sensors.camera.options import CameraOptions
from walkway.errors import InputFileError

IN_COLOUR = (60, 200, 60)
OUT_COLOUR = (60, 60, 230)
ROI_COLOUR = (0, 220, 255)


def draw_overlay(frame: np.ndarray, options: CameraOptions) -> np.ndarray:
    """The frame with the ROI, each line, its name and arrows to the "in" and "out" sides."""
    img = frame.copy()
    h, w = img.shape[:2]
    roi = options.pipeline.roi
    if roi:
        pts = np.asarray([(x * w, y * h) for x, y in roi], np.int32)
        cv2.polylines(img, [pts], True, ROI_COLOUR, 2, cv2.LINE_AA)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for line in options.pipeline.lines:
        ax, ay, bx, by = line.scaled(w, h)
        cv2.line(img, (int(ax), int(ay)), (int(bx), int(by)), (255, 255, 255), 2, cv2.LINE_AA)
        length = float(np.hypot(bx - ax, by - ay)) or 1.0
        # The "in" side is the left of A->B on the image: normal (dy, -dx).
        nx, ny = (by - ay) / length, -(bx - ax) / length
        mx, my = (ax + bx) / 2, (ay + by) / 2
        arrow = max(20.0, 0.08 * min(w, h))
        sides = ((1, IN_COLOUR, line.in_label), (-1, OUT_COLOUR, line.out_label))
        for sign, colour, label in sides:
            end = (int(mx + sign * nx * arrow), int(my + sign * ny * arrow))
            cv2.arrowedLine(img, (int(mx), int(my)), end, colour, 2, cv2.LINE_AA, tipLength=0.3)
            # Put the label beyond the arrow's tip, on the side it points to.
            (tw, th), _ = cv2.getTextSize(label, font, 0.5, 1)
            tx = end[0] + 4 if sign * nx >= 0 else end[0] - tw - 4
            ty = end[1] + th // 2
            if abs(ny) > 0.3:
                ty = end[1] + th + 4 if sign * ny > 0 else end[1] - 4
            cv2.putText(img, label, (tx, ty), font, 0.5, colour, 1, cv2.LINE_AA)
        cv2.putText(img, f"{line.name} (A)", (int(ax) + 4, int(ay) + 14), font, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return img


SIZE_COLOUR = (255, 160, 0)


def draw_sizes(img: np.ndarray, fit: SizeFit) -> np.ndarray:
    """A box of one person, as learnt or configured, at the top, middle and bottom of the
    rows where people were seen: a crew checks at a glance that it matches real people."""
    h, w = img.shape[:2]
    lo, hi = fit.rows
    for k, row in enumerate((lo, (lo + hi) / 2, hi)):
        pw, ph = fit.at(row)
        cx = w * (0.2 + 0.3 * k)
        x0, y0 = int(cx - pw * w / 2), int(row * h - ph * h)
        cv2.rectangle(img, (x0, y0), (int(cx + pw * w / 2), int(row * h)), SIZE_COLOUR, 2)
    return img


def describe_fit(fit: SizeFit | None, configured: bool, process_size: tuple[int, int],
                 detector: str = "") -> str:
    """What the counter uses for one person's size, in words and pixels of the frame, and
    (when given) the detector in use with the height-per-row slope that chose it."""
    pw, ph = process_size
    if fit is None:
        return (f"person size: not learnt yet (too few people walking alone); processing "
                f"{pw}x{ph}; set person_size/far_scale to give it")
    how = "configured" if configured else f"learnt from {fit.samples} samples, {fit.tracks} tracks"
    rows = "" if configured else f", people seen at rows {fit.rows[0]:.2f}-{fit.rows[1]:.2f}"
    sizes = ", ".join(f"row {y:.2f}: {fit.at(y)[0]:.3f} x {fit.at(y)[1]:.3f}"
                      for y in (fit.rows[0], (fit.rows[0] + fit.rows[1]) / 2, fit.rows[1]))
    chosen = "" if configured else f"; perspective slope {fit.slope:.2f}"
    if detector:
        chosen += f"; detector {detector}"
    return (f"person size ({how}{rows}): {sizes} of the frame (width x height); "
            f"far_scale {fit.far_scale:.2f}; processing {pw}x{ph}{chosen}")


def calibrate_still(options: CameraOptions, out: Path, learn_s: float = 0.0,
                    skip: int = 10) -> tuple[Path, str]:
    """Watch the camera for `learn_s` seconds (people walking by teach it their size), then
    draw the lines, ROI and that size on the last frame and write `out` (PNG). Only sizes
    are kept while watching; the one frame written is the last one."""
    from sensors.camera.pipeline import Pipeline

    cap = open_capture(options.device)
    if cap is None:
        raise InputFileError(f"{describe(options.device)}: cannot open camera, file or stream")
    frame = None
    pipeline = None
    try:
        fps = frame_rate(cap, options.fps)
        n = 0
        while n <= skip or n < learn_s * fps:
            ok, got = cap.read()
            if not ok:
                break
            frame = got
            if learn_s > 0:
                if pipeline is None:
                    pipeline = Pipeline(options.pipeline, (got.shape[1], got.shape[0]), fps)
                pipeline.process(got, n / fps)
            n += 1
    finally:
        cap.release()
    if frame is None:
        raise InputFileError(f"{describe(options.device)}: cannot read a frame")
    img = draw_overlay(frame, options)
    text = ""
    if pipeline is not None:
        fit = pipeline.size_fit
        if fit is not None:
            draw_sizes(img, fit)
        text = describe_fit(fit, options.pipeline.person_size is not None, pipeline.size,
                            pipeline.kind)
        if pipeline.auto_note:
            text += f" ({pipeline.auto_note})"
    if not cv2.imwrite(str(out), img):
        raise InputFileError(f"{out}: cannot write the PNG")
    return out, text
