"""Fonts: one proper face per language, found with fontconfig or at Debian's paths.

- ja and en: BIZ UDPGothic (Morisawa's Universal Design face, made for low vision; its Latin
  is legible too), falling back to Noto Sans CJK JP.
- zh-Hans: Noto Sans CJK SC; ko: Noto Sans CJK KR, so Han characters take the regional
  glyph shapes readers expect.

The Noto CJK faces live in one .ttc collection; SDL_ttf (pygame.font, which shapes with
HarfBuzz) always opens face 0 of a collection, so `TTCFace` presents the file with the
collection header patched to point face 0 at the wanted face. Nothing is copied to disk.
"""

import io
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from walkway.errors import WalkwayError

NOTO = "/usr/share/fonts/opentype/noto/NotoSansCJK-{w}.ttc"
BIZUD = "/usr/share/fonts/truetype/bizud-gothic/BIZUDPGothic-{w}.ttf"
# (family for fontconfig, fallback path pattern, index in Noto's collection)
WANTED: dict[str, list[tuple[str, str, int]]] = {
    "ja": [("BIZ UDPGothic", BIZUD, 0), ("Noto Sans CJK JP", NOTO, 0)],
    "en": [("BIZ UDPGothic", BIZUD, 0), ("Noto Sans CJK JP", NOTO, 0)],
    "zh-Hans": [("Noto Sans CJK SC", NOTO, 2)],
    "ko": [("Noto Sans CJK KR", NOTO, 1)],
}
PACKAGES = "fonts-morisawa-bizud-gothic fonts-noto-cjk"


class FontError(WalkwayError):
    """A needed font is not installed."""


@dataclass(frozen=True)
class FaceFile:
    path: Path
    index: int


class TTCFace(io.RawIOBase):
    """A read-only view of a .ttc whose face 0 is face `index` (see module docstring)."""

    def __init__(self, path: Path, index: int) -> None:
        super().__init__()
        self._f = open(path, "rb")  # noqa: SIM115 - owned and closed by this object
        head = self._f.read(12)
        if head[:4] != b"ttcf":
            raise FontError(f"{path}: expected a TrueType collection (ttcf header)")
        count = struct.unpack(">I", head[8:12])[0]
        if not 0 <= index < count:
            raise FontError(f"{path}: face index {index} out of range 0..{count - 1}")
        offsets = self._f.read(4 * count)
        self._head = bytearray(head + offsets)
        self._head[12:16] = offsets[4 * index : 4 * index + 4]
        self._f.seek(0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, buffer: Any) -> int:
        pos = self._f.tell()
        n = self._f.readinto(buffer)
        if pos < len(self._head) and n:
            end = min(len(self._head), pos + n)
            buffer[0 : end - pos] = self._head[pos:end]
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


def _fc_lookup(family: str, weight: str) -> FaceFile | None:
    try:
        out = subprocess.run(
            ["fc-list", "-f", "%{file}|%{index}|%{style}\n", f"{family}:style={weight}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in sorted(out.splitlines()):
        parts = line.split("|")
        if len(parts) >= 2 and parts[0]:
            return FaceFile(Path(parts[0]), int(parts[1] or 0))
    return None


def find_face(lang: str, bold: bool) -> FaceFile:
    """The face for `lang`; raises FontError naming the Debian packages when none is found."""
    weight = "Bold" if bold else "Regular"
    for family, pattern, index in WANTED[lang]:
        path = Path(pattern.format(w=weight))
        if path.exists():  # Debian's path first: deterministic across machines
            return FaceFile(path, index if path.suffix == ".ttc" else 0)
        found = _fc_lookup(family, weight)
        if found is not None:
            return found
    tried = ", ".join(f for f, _, _ in WANTED[lang])
    raise FontError(f"signage: no font for {lang} ({tried}): install {PACKAGES}")


class FontBook:
    """pygame Font objects, one per (language, weight); sizes are set per use.

    pygame-ce's Font.point_size can change the size of an open face, so a shrink-to-fit
    search does not open a new FreeType face for every candidate size (memory stays flat).
    """

    def __init__(self) -> None:
        import pygame

        if not pygame.font.get_init():
            pygame.font.init()
        self._fonts: dict[tuple[str, bool], Any] = {}
        self._by_file: dict[tuple[Path, int], Any] = {}

    def font(self, lang: str, size: int, bold: bool = True) -> Any:
        import pygame

        key = (lang, bold)
        font = self._fonts.get(key)
        if font is None:
            face = find_face(lang, bold)
            font = self._by_file.get((face.path, face.index))
            if font is None:
                source: Any = (
                    TTCFace(face.path, face.index) if face.path.suffix == ".ttc" else face.path
                )
                font = pygame.font.Font(source, size)
                self._by_file[(face.path, face.index)] = font
            self._fonts[key] = font
        if font.point_size != size:
            font.point_size = size
        return font
