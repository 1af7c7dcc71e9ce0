"""Test clips for video slides: frames that carry their own index in their pixels.

`index_frame(i)` paints frame i as BITS vertical bands, a band yellow for a 1 bit and blue
for a 0 (never black, and red tells RGB from BGR), so a test reads back from the screen
which frame of the clip is showing. The bits are i XOR MASK, so even frame 0 has both
colours (a golden image of it shows where the bands were scaled and cropped).

The committed clip tests/data/signage/video/index.mp4 was made with
`python -m tests.support.video_clips tests/data/signage/video/index.mp4` (Debian 12's ffmpeg
5.1, libx264; see that folder's README.md); the sign itself decodes it with OpenCV's bundled
FFmpeg, which has no H.264 encoder.
"""

import subprocess
import sys
from pathlib import Path
from typing import Any

BITS = 8
MASK = 0b10100101
ONE = (230, 200, 40)  # RGB
ZERO = (30, 60, 200)
SIZE = (320, 180)
FRAMES = 24
FPS = 12


def index_frame(i: int, size: tuple[int, int] = SIZE) -> Any:
    import numpy as np

    w, h = size
    frame = np.zeros((h, w, 3), np.uint8)
    band = w // BITS
    for bit in range(BITS):
        on = ((i ^ MASK) >> (BITS - 1 - bit)) & 1
        frame[:, bit * band:(bit + 1) * band] = ONE if on else ZERO
    return frame


def read_index(rgb: Any, box: tuple[int, int, int, int]) -> int | None:
    """The index shown in `box` (x, y, w, h) of an RGB array indexed [x, y] (pygame's
    surfarray); None when a band is neither colour (black, another scene, a blend)."""
    x, y, w, h = box
    value = 0
    for bit in range(BITS):
        r, g, b = (int(c) for c in rgb[x + (bit * 2 + 1) * w // (2 * BITS), y + h // 2])
        if abs(r - ONE[0]) < 40 and abs(b - ONE[2]) < 60:
            value = value * 2 + 1
        elif abs(r - ZERO[0]) < 40 and abs(b - ZERO[2]) < 60:
            value = value * 2
        else:
            return None
    return value ^ MASK


def encode(path: Path, frames: int = FRAMES, size: tuple[int, int] = SIZE, fps: int = FPS) -> None:
    """An H.264 (High, yuv420p) MP4 with the moov box first, through Debian's ffmpeg."""
    w, h = size
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "slow",
           "-crf", "20", "-g", str(fps), "-pix_fmt", "yuv420p", "-movflags", "+faststart",
           str(path)]
    raw = b"".join(index_frame(i, size).tobytes() for i in range(frames))
    subprocess.run(cmd, input=raw, check=True, timeout=120)


if __name__ == "__main__":
    encode(Path(sys.argv[1]))
