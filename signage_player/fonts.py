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

from signage_player.cmap import Coverage, read_coverage
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
# Per-glyph fallback after the language's face: Noto Sans CJK JP covers the Han extensions
# BIZ UDPGothic lacks (𠮷 U+20BB7, as in 𠮷野家); coverage comes from each face's cmap.
# Characters no face has are warned about at input (`missing_glyphs`) rather than drawn as
# boxes without anyone noticing.
FALLBACK = (NOTO, 0)
SPLIT_CACHE = 4096  # texts whose face runs are remembered (a package has a few hundred)
SIZE_CACHE = 16384  # (size, text) measurements remembered per face (~2 MB at most)


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
    """Faces per (language, weight), each with a per-glyph fallback; sizes are set per use.

    pygame-ce's Font.point_size can change the size of an open face, so a shrink-to-fit
    search does not open a new FreeType face for every candidate size (memory stays flat).
    """

    def __init__(self) -> None:
        import pygame

        if not pygame.font.get_init():
            pygame.font.init()
        self._faces: dict[tuple[str, bool], Face] = {}
        self._by_file: dict[tuple[Path, int], Any] = {}
        self._cmaps: dict[tuple[Path, int], Coverage] = {}

    def _open(self, face: FaceFile, size: int) -> Any:
        import pygame

        font = self._by_file.get((face.path, face.index))
        if font is None:
            source: Any = (
                TTCFace(face.path, face.index) if face.path.suffix == ".ttc" else face.path
            )
            font = pygame.font.Font(source, size)
            self._by_file[(face.path, face.index)] = font
        return font

    def _cmap(self, face: FaceFile) -> Coverage:
        key = (face.path, face.index)
        if key not in self._cmaps:
            try:
                self._cmaps[key] = read_coverage(face.path, face.index)
            except (OSError, ValueError, struct.error) as exc:
                raise FontError(f"{face.path}: cannot read its character map: {exc}") from exc
        return self._cmaps[key]

    def face(self, lang: str, bold: bool = True) -> "Face":
        key = (lang, bold)
        if key not in self._faces:
            main = find_face(lang, bold)
            chain = [main]
            weight = "Bold" if bold else "Regular"
            extra = FaceFile(Path(FALLBACK[0].format(w=weight)), FALLBACK[1])
            if extra.path.exists() and extra != main:
                chain.append(extra)
            self._faces[key] = Face(
                [self._open(f, 12) for f in chain], [self._cmap(f) for f in chain]
            )
        return self._faces[key]

    def font(self, lang: str, size: int, bold: bool = True) -> "Face":
        face = self.face(lang, bold)
        face.point_size = size
        return face

    def missing_glyphs(self, text: str, lang: str) -> list[str]:
        """Characters of `text` that no face for `lang` has (they would show as boxes)."""
        face = self.face(lang)
        return sorted(
            {c for c in text if not c.isspace() and face.which(c) < 0},
            key=ord,
        )


class Face:
    """A language's font with per-glyph fallback, used like a pygame Font (size, render,
    get_ascent, point_size, name). Text is split into runs by the first face that has each
    character; runs are measured and drawn separately on one baseline."""

    def __init__(self, fonts: list[Any], cmaps: list[Coverage]) -> None:
        self._fonts, self._cmaps = fonts, cmaps
        self._size = 0
        self._splits: dict[str, tuple[tuple[int, str], ...]] = {}
        self._sizes: dict[tuple[int, str], tuple[int, int]] = {}

    @property
    def name(self) -> str:
        return self._fonts[0].name

    @property
    def point_size(self) -> int:
        return self._size

    @point_size.setter
    def point_size(self, size: int) -> None:
        self._size = size
        if self._fonts[0].point_size != size:
            self._fonts[0].point_size = size

    def which(self, char: str) -> int:
        """Index of the first face with `char`, 0 for spaces/controls, -1 for none."""
        code = ord(char)
        if char.isspace() or code < 0x20 or 0xFE00 <= code <= 0xFE0F:  # incl. variation selectors
            return 0
        return next((i for i, cmap in enumerate(self._cmaps) if code in cmap), -1)

    def _split(self, text: str) -> tuple[tuple[int, str], ...]:
        """Runs of `text` by face index; cached, because fitting measures the same strings
        at many sizes (the split does not depend on the size)."""
        split = self._splits.get(text)
        if split is None:
            out: list[tuple[int, str]] = []
            for char in text:
                i = max(0, self.which(char))  # none has it: the main face's box (warned)
                if out and out[-1][0] == i:
                    out[-1] = (i, out[-1][1] + char)
                else:
                    out.append((i, char))
            if len(self._splits) >= SPLIT_CACHE:
                self._splits.clear()
            split = self._splits[text] = tuple(out)
        return split

    def runs(self, text: str) -> list[tuple[Any, str]]:
        return [(self._sized(i), run) for i, run in self._split(text)]

    def _sized(self, i: int) -> Any:
        font = self._fonts[i]
        if font.point_size != self._size:
            font.point_size = self._size
        return font

    def get_ascent(self) -> int:
        return self._fonts[0].get_ascent()

    def ink_depth(self, text: str) -> int:
        """Rows from the top of `render(text)` to the lowest ink, from the glyph outlines."""
        depth = 0
        for font, run in self.runs(text):
            lows = [m[2] for m in font.metrics(run) if m]
            if lows:
                depth = max(depth, self.get_ascent() - min(lows))
        return depth

    def ink_above_baseline(self, text: str) -> int:
        """Pixels the glyphs of `text` reach above the baseline (accents, kana marks)."""
        highs = [m[3] for font, run in self.runs(text) for m in font.metrics(run) if m]
        return max(highs, default=0)

    def ink_below_baseline(self, text: str) -> int:
        """Pixels the glyphs of `text` reach below the baseline (descenders)."""
        return max(0, self.ink_depth(text) - self.get_ascent())

    def size(self, text: str) -> tuple[int, int]:
        """Width and height of one line, as pygame's Font.size. Remembered per (size, text):
        shaping is the cost of fitting, and wrapping, shrinking and laying out every
        orientation at install measure the same strings again and again."""
        key = (self._size, text)
        found = self._sizes.get(key)
        if found is None:
            split = self._split(text)
            if len(split) <= 1:
                found = self._sized(split[0][0] if split else 0).size(text)
            else:
                width = sum(self._sized(i).size(r)[0] for i, r in split)
                found = (width, self._fonts[0].get_height())
            if len(self._sizes) >= SIZE_CACHE:
                self._sizes.clear()
            self._sizes[key] = found
        return found

    def render(self, text: str, antialias: bool, colour: Any) -> Any:
        runs = self.runs(text)
        if len(runs) <= 1:
            return (runs[0][0] if runs else self._fonts[0]).render(text, antialias, colour)
        import pygame

        ascent = max(f.get_ascent() for f, _ in runs)
        images = [(f.render(r, antialias, colour), ascent - f.get_ascent()) for f, r in runs]
        # Baselines line up: every run is placed `ascent` below the top, like the main face.
        height = max(img.get_height() + dy for img, dy in images)
        out = pygame.Surface((sum(img.get_width() for img, _ in images), height), pygame.SRCALPHA)
        x = 0
        for img, dy in images:
            out.blit(img, (x, dy))
            x += img.get_width()
        top = ascent - self.get_ascent()  # draw as if the main face rendered it
        return out.subsurface((0, top, out.get_width(), height - top)).copy() if top else out
