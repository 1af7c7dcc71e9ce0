"""`walkway calibrate`: the ONE place a camera frame is ever written, as a local still for a
crew placing lines. It is written only where the crew asks (`--out`), never sent anywhere."""

from pathlib import Path

import cv2
import numpy as np

from sensors.camera.capture import describe, open_capture
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


def calibrate_still(options: CameraOptions, out: Path, skip: int = 10) -> Path:
    """Grab a frame (after `skip` frames, so exposure settles), draw, write `out` (PNG)."""
    cap = open_capture(options.device)
    if cap is None:
        raise InputFileError(f"{describe(options.device)}: cannot open camera, file or stream")
    frame = None
    try:
        for _ in range(skip + 1):
            ok, got = cap.read()
            if not ok:
                break
            frame = got
    finally:
        cap.release()
    if frame is None:
        raise InputFileError(f"{describe(options.device)}: cannot read a frame")
    if not cv2.imwrite(str(out), draw_overlay(frame, options)):
        raise InputFileError(f"{out}: cannot write the PNG")
    return out
