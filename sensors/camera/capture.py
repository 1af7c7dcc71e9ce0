"""Opening a camera, video file or stream through OpenCV, with timeouts so a dead stream
cannot hang the source thread."""

import os
from pathlib import Path

import cv2

OPEN_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 5000
DEFAULT_FPS = 25.0


def is_file(device: int | str) -> bool:
    return isinstance(device, str) and "://" not in device


def describe(device: int | str) -> str:
    return f"camera {device}" if isinstance(device, int) else str(device)


def open_capture(device: int | str) -> "cv2.VideoCapture | None":
    """An opened capture, or None when the device, file or stream cannot be opened."""
    if is_file(device) and not Path(str(device)).is_file():
        return None
    # FFmpeg would print its own multi-line complaints on stderr; our one-line errors and
    # the source's status say what went wrong. Read once, at the first capture.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS,
              cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
    try:
        cap = cv2.VideoCapture(device, cv2.CAP_ANY, params)
    except cv2.error:
        return None
    if not cap.isOpened():
        cap.release()
        return None
    return cap


def frame_rate(cap: "cv2.VideoCapture", override: float = 0.0) -> float:
    """The stream's frame rate (override wins); files without one are taken as 25 fps."""
    if override > 0:
        return override
    fps = cap.get(cv2.CAP_PROP_FPS)
    return fps if 1.0 <= fps <= 240.0 else DEFAULT_FPS
