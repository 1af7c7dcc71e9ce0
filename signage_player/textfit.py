"""Wrap, then shrink: fit a text in a box without ever drawing outside it.

Japanese is broken at phrase boundaries (BudouX), Simplified Chinese likewise with BudouX's
Chinese model, Korean and English at spaces. A segment wider than the box is broken by
character as a last resort (kinsoku: never start a line with closing punctuation).
Sizes go down from the role's preferred size to its minimum (the legibility floor from the
viewing distance); if even the minimum does not fit, the result says so and the text is cut
with an ellipsis, so tests (and `walkway signage render`) can report it.
"""

import functools
from dataclasses import dataclass
from typing import Any

NO_LINE_START = set(
    "、。，．,.!?！？）)」』】〕〉》・ー々ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮ%％:：;；"
)


EM_ASCENT = 0.88  # baseline below a line's top, in em (CJK ideographs fill ~0.88 em)


@dataclass(frozen=True)
class Fit:
    """How a text was fitted: lines at `size` px; `ok` is False if it did not fit at min.

    `height` holds the ink, not just the em boxes: `lead` pushes the first line down for
    marks above the em box (ポ's handakuten), and the last line's descenders (p, g, the comma
    in Noto's Latin) are counted, so nothing drawn next to the box can cut them."""

    lines: tuple[str, ...]
    size: int
    ok: bool
    width: int
    height: int
    line_height: int
    lead: int = 0


def _extent(font: Any, lines: list[str], size: int, lh: int) -> tuple[int, int]:
    """(lead, height) of `lines` drawn `lh` apart, ink included (see Fit)."""
    em_top = round(size * EM_ASCENT)
    first, last = (lines[0], lines[-1]) if lines else ("", "")
    lead = max(0, font.ink_above_baseline(first) - em_top)
    tail = max(size - em_top, font.ink_below_baseline(last))
    return lead, lead + lh * (len(lines) - 1) + em_top + tail


@functools.lru_cache(maxsize=4)
def _parser(lang: str) -> Any:
    import budoux

    if lang == "ja":
        return budoux.load_default_japanese_parser()
    return budoux.load_default_simplified_chinese_parser()


def segments(text: str, lang: str) -> list[str]:
    """Units a line may break between (spaces kept at the end of their unit)."""
    out: list[str] = []
    if lang in ("ja", "zh-Hans"):
        # BudouX does not split on spaces/latin runs well: split on spaces first.
        for i, chunk in enumerate(text.split(" ")):
            if i:
                out[-1] += " " if out else ""
            out.extend(p for p in _parser(lang).parse(chunk) if p)
        return out or [""]
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


def _break_chars(word: str, fits: Any) -> list[str]:
    pieces: list[str] = []
    cur = ""
    for ch in word:
        if cur and not fits(cur + ch) and ch not in NO_LINE_START:
            pieces.append(cur)
            cur = ch
        else:
            cur += ch
    if cur:
        pieces.append(cur)
    return pieces


def wrap(
    text: str, lang: str, width: int, measure: Any, split_words: bool = True
) -> list[str] | None:
    """Greedy wrap of `text` (paragraphs split on newlines) into lines <= width px.

    With split_words=False, returns None when a phrase/word would have to be cut."""
    lines: list[str] = []

    def fits(s: str) -> bool:
        return measure(s.rstrip(" ")) <= width

    for para in text.split("\n"):
        cur = ""
        for seg in segments(para, lang):
            if fits(cur + seg):
                cur += seg
                continue
            if cur:
                lines.append(cur.strip(" "))
                cur = ""
            if fits(seg):
                cur = seg
                continue
            if not split_words:
                return None
            pieces = _break_chars(seg, fits)
            lines.extend(p.strip(" ") for p in pieces[:-1])
            cur = pieces[-1]
        lines.append(cur.strip(" "))
    return lines


def sizes(pref: int, minimum: int) -> list[int]:
    """Candidate sizes, preferred first, ~6 % apart, ending exactly at the minimum."""
    out, s = [], float(max(pref, minimum))
    while int(s) > minimum:
        out.append(int(s))
        s *= 0.94
    out.append(minimum)
    return out


def fit(
    fonts: Any,
    text: str,
    lang: str,
    box_w: int,
    box_h: int,
    pref: int,
    minimum: int,
    *,
    bold: bool = True,
    max_lines: int = 0,
    spacing: float = 1.25,
) -> Fit:
    """The largest size in [minimum, pref] at which `text` fits the box when wrapped."""
    last: Fit | None = None
    # Shrinking beats cutting a word or phrase in two: try every size whole first.
    for size, split_words in [(s, False) for s in sizes(pref, minimum)] + [(minimum, True)]:
        font = fonts.font(lang, size, bold)

        def measure(s: str, _f: Any = font) -> int:
            return _f.size(s)[0]

        lines = wrap(text, lang, box_w, measure, split_words)
        if lines is None:
            continue
        lh = int(size * spacing)
        lead, height = _extent(font, lines, size, lh)
        widths = [measure(x) for x in lines]
        ok = height <= box_h and max(widths) <= box_w and (not max_lines or len(lines) <= max_lines)
        last = Fit(tuple(lines), size, ok, max(widths), height, lh, lead)
        if ok:
            return last
    assert last is not None
    return _cut(fonts, last, lang, box_w, box_h, max_lines, bold)


def _cut(fonts: Any, f: Fit, lang: str, box_w: int, box_h: int, max_lines: int, bold: bool) -> Fit:
    """Keep the lines that fit and end the last one with an ellipsis (never draw outside)."""
    font = fonts.font(lang, f.size, bold)
    room = max(1, (box_h - f.size) // f.line_height + 1)
    if max_lines:
        room = min(room, max_lines)
    lines = list(f.lines[:room])
    last = lines[-1]
    while last and font.size(last + "…")[0] > box_w:
        last = last[:-1]
    lines[-1] = last + "…"
    lead, height = _extent(font, lines, f.size, f.line_height)
    width = max(font.size(x)[0] for x in lines)
    return Fit(tuple(lines), f.size, False, width, height, f.line_height, lead)
