"""Which characters a font face has, read straight from its `cmap` table.

Only the character ranges are kept (a few thousand pairs of ints for Noto CJK), not a
character -> glyph map: per-glyph fallback needs membership only, and a sign has little
memory to spare (parsing the same table with fontTools holds tens of MB at peak).
Reads the Unicode full-repertoire subtable (format 12) when there is one, else the BMP one
(format 4), from a .ttf/.otf or one face of a .ttc collection.
"""

import bisect
import struct
from array import array
from pathlib import Path


class Coverage:
    """Sorted, non-overlapping [start, end] code point ranges; `code in coverage`."""

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        ranges.sort()
        self._starts = array("I", (a for a, _ in ranges))
        self._ends = array("I", (b for _, b in ranges))

    def __contains__(self, code: int) -> bool:
        i = bisect.bisect_right(self._starts, code) - 1
        return i >= 0 and code <= self._ends[i]


def read_coverage(path: Path, index: int = 0) -> Coverage:
    """The code points face `index` of `path` maps to a glyph; ValueError if unreadable."""
    with open(path, "rb") as f:  # read the headers and the cmap only, not the whole font
        head = f.read(12)
        base = 0
        if head[:4] == b"ttcf":
            (count,) = struct.unpack_from(">I", head, 8)
            if not 0 <= index < count:
                raise ValueError(f"{path}: face index {index} out of range 0..{count - 1}")
            f.seek(12 + 4 * index)
            (base,) = struct.unpack(">I", f.read(4))
            f.seek(base)
            head = f.read(12)
        (num_tables,) = struct.unpack_from(">H", head, 4)
        records = f.read(16 * num_tables)
        where = None
        for i in range(num_tables):
            tag, _, offset, length = struct.unpack_from(">4sIII", records, 16 * i)
            if tag == b"cmap":
                where = (offset, length)
        if where is None:
            raise ValueError(f"{path}: no cmap table")
        f.seek(where[0])
        data = f.read(where[1])
    cmap = 0
    (count,) = struct.unpack_from(">H", data, cmap + 2)
    subtables = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        subtables[(platform, encoding)] = cmap + offset
    for key in ((3, 10), (0, 4), (0, 6)):
        at = subtables.get(key)
        if at is not None and struct.unpack_from(">H", data, at)[0] == 12:
            return Coverage(_format12(data, at))
    for key in ((3, 1), (0, 3), (0, 1), (0, 0)):
        at = subtables.get(key)
        if at is not None and struct.unpack_from(">H", data, at)[0] == 4:
            return Coverage(_format4(data, at))
    raise ValueError(f"{path}: no Unicode cmap subtable (format 12 or 4)")


def _format12(data: bytes, at: int) -> list[tuple[int, int]]:
    (groups,) = struct.unpack_from(">I", data, at + 12)
    return [
        (start, end)
        for start, end, _ in struct.iter_unpack(">III", data[at + 16 : at + 16 + 12 * groups])
    ]


def _format4(data: bytes, at: int) -> list[tuple[int, int]]:
    (seg_x2,) = struct.unpack_from(">H", data, at + 6)
    n = seg_x2 // 2
    ends = struct.unpack_from(f">{n}H", data, at + 14)
    starts = struct.unpack_from(f">{n}H", data, at + 16 + seg_x2)
    deltas = struct.unpack_from(f">{n}h", data, at + 16 + 2 * seg_x2)
    range_at = at + 16 + 3 * seg_x2
    offsets = struct.unpack_from(f">{n}H", data, range_at)
    out: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if start == 0xFFFF:
            continue
        if offsets[i] == 0:  # glyph = code + delta: every code maps but the one hitting 0
            hole = (-deltas[i]) & 0xFFFF
            out += (
                [(a, b) for a, b in ((start, hole - 1), (hole + 1, end)) if a <= b]
                if (start <= hole <= end)
                else [(start, end)]
            )
            continue
        for code in range(start, end + 1):  # glyph ids from the glyph array (0: missing)
            where = range_at + 2 * i + offsets[i] + 2 * (code - start)
            if struct.unpack_from(">H", data, where)[0]:
                out.append((code, code))
    return out
