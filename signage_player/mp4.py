"""What an MP4 holds, read from its boxes only (ISO/IEC 14496-12): codec, size, length.

A video slide is checked from its header before anything decodes it, the way images are
(package_limits.check_image): the file is never read whole, only its box headers and the
`moov` box (the index, a few hundred KB at most for a 10-minute clip).
"""

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from signage_player.package_limits import (
    MAX_VIDEO_BYTES,
    MAX_VIDEO_PIXELS,
    MAX_VIDEO_SECONDS,
    ContentError,
)

H264 = (b"avc1", b"avc3")
MAX_MOOV_BYTES = 16 * 1024 * 1024
CONTAINERS = (b"trak", b"mdia", b"minf", b"stbl")
EXPECTED = "expected an H.264 MP4 (avc1), e.g. ffmpeg -c:v libx264 -pix_fmt yuv420p"


class BadVideo(ContentError):
    """A video file is not what a sign plays; `reason` is the message without the place."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class VideoInfo:
    path: Path  # the file in the installed package; opened again at every play
    size_bytes: int
    codec: str  # the sample entry's four characters, e.g. "avc1"
    width: int
    height: int
    seconds: float
    frames: int

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _boxes(blob: bytes, start: int = 0, end: int | None = None):
    """(type, payload start, payload end) of each box in blob[start:end]."""
    end = len(blob) if end is None else end
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", blob[i:i + 8])
        head = 8
        if size == 1 and i + 16 <= end:
            size, head = struct.unpack(">Q", blob[i + 8:i + 16])[0], 16
        elif size == 0:
            size = end - i
        if size < head or i + size > end:
            return
        yield kind, i + head, i + size
        i += size


def _find_moov(f: BinaryIO, length: int) -> bytes | None:
    at = 0
    while at + 8 <= length:
        f.seek(at)
        head = f.read(16)
        if len(head) < 8:
            return None
        size, kind = struct.unpack(">I4s", head[:8])
        skip = 8
        if size == 1 and len(head) == 16:
            size, skip = struct.unpack(">Q", head[8:16])[0], 16
        elif size == 0:
            size = length - at
        if size < skip:
            return None
        if kind == b"moov":
            if size > MAX_MOOV_BYTES:
                return None
            f.seek(at + skip)
            return f.read(size - skip)
        at += size
    return None


def _flatten(moov: bytes, a: int, b: int, found: dict) -> dict[bytes, tuple[int, int]]:
    """The first box of each type inside a track, through its container boxes."""
    for k, ps, pe in _boxes(moov, a, b):
        found.setdefault(k, (ps, pe))
        if k in CONTAINERS:
            _flatten(moov, ps, pe, found)
    return found


def _video_track(moov: bytes) -> tuple[str, int, int, float, int] | None:
    """(codec, width, height, seconds, frames) of the first video track."""
    for kind, s, e in _boxes(moov):
        if kind != b"trak":
            continue
        found = _flatten(moov, s, e, {})
        if b"hdlr" not in found or moov[found[b"hdlr"][0] + 8:found[b"hdlr"][0] + 12] != b"vide":
            continue
        if not all(k in found for k in (b"mdhd", b"stsd", b"stsz")):
            return None
        ms, _ = found[b"mdhd"]
        if moov[ms] == 1:
            scale, duration = struct.unpack(">IQ", moov[ms + 20:ms + 32])
        else:
            scale, duration = struct.unpack(">II", moov[ms + 12:ms + 20])
        ss, _ = found[b"stsd"]
        entry = moov[ss + 8:ss + 8 + 36]
        if len(entry) < 36:
            return None
        codec = entry[4:8]
        width, height = struct.unpack(">HH", entry[32:36])
        zs, _ = found[b"stsz"]
        frames = struct.unpack(">I", moov[zs + 8:zs + 12])[0]
        seconds = duration / scale if scale else 0.0
        return codec.decode("latin-1"), width, height, seconds, frames
    return None


def probe(path: Path, rel: str, where: str) -> VideoInfo:
    """The video's facts from its header; ContentError (one line: file, field, expected)
    when it is not an H.264 MP4 or passes a limit (package_limits)."""
    at = f"{where}: videos: {rel}"
    try:
        return _probe(path)
    except BadVideo as exc:
        raise BadVideo(at, exc.reason) from None


def _probe(path: Path) -> VideoInfo:
    try:
        length = path.stat().st_size
        if length > MAX_VIDEO_BYTES:
            raise BadVideo("", f"{length} bytes; expected at most {MAX_VIDEO_BYTES}"
                               f" ({MAX_VIDEO_BYTES // 2**20} MiB)")
        with path.open("rb") as f:
            moov = _find_moov(f, length)
    except OSError as exc:
        raise BadVideo("", f"cannot be read ({exc}); {EXPECTED}") from exc
    try:
        track = _video_track(moov) if moov else None
    except (struct.error, IndexError, UnicodeDecodeError):  # boxes cut short or nonsense
        track = None
    if track is None:
        raise BadVideo("", f"no readable MP4 video track; {EXPECTED}")
    codec, width, height, seconds, frames = track
    if codec.encode("latin-1") not in H264:
        raise BadVideo("", f"codec {codec!r}; {EXPECTED}")
    if not (width and height and frames and seconds > 0):
        raise BadVideo("", f"an empty video ({width}x{height}, {frames} frames);"
                           f" {EXPECTED}")
    if width * height > MAX_VIDEO_PIXELS:
        raise BadVideo("", f"{width}x{height}; expected at most {MAX_VIDEO_PIXELS}"
                           " pixels (1920x1080: what a Pi decodes in time)")
    if seconds > MAX_VIDEO_SECONDS:
        raise BadVideo("", f"{seconds:.0f} s long; expected at most"
                           f" {MAX_VIDEO_SECONDS} s")
    return VideoInfo(path, length, codec, width, height, seconds, frames)
