"""Sizes from the viewing distance and colour-universal palettes.

Text height: Japan's MLIT barrier-free guideline asks for about 20 mm of Japanese character
height at 4-5 m and 40 mm at 10 m; we use 4.4 mm per metre of viewing distance (19.8 mm at
4.5 m, 44 mm at 10 m, never under 6 mm). That height is the *minimum* any text may shrink to.
Pixels per mm come from the config (`px_per_mm`) or the panel's diagonal and resolution.

Colours are from the Colour Universal Design (CUD) recommended set v4, chosen to stay
distinguishable for protan/deutan/tritan viewers; meaning is never carried by colour alone
(every level also has a word and a symbol). The high-contrast palette is white/yellow on black.
"""

import math
from dataclasses import dataclass

MM_PER_M = 4.4
CJK_GLYPH_EM = 0.88  # share of the em a CJK ideograph's ink occupies (BIZ UD, Noto CJK)
LARGE_TEXT = 1.4  # accessibility mode multiplier

Colour = tuple[int, int, int]


def hexrgb(text: str) -> Colour:
    return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16))


@dataclass(frozen=True)
class Palette:
    name: str
    bg: Colour
    panel: Colour
    header: Colour
    text: Colour
    muted: Colour
    accent: Colour
    highlight: Colour
    quiet: Colour
    moderate: Colour
    busy: Colour
    line: Colour
    border: int  # panel outline width in px (0: none); high contrast outlines everything


CUD = Palette(
    "cud",
    bg=hexrgb("#0B2545"),
    panel=hexrgb("#16365F"),
    header=hexrgb("#005AFF"),
    text=hexrgb("#FFFFFF"),
    muted=hexrgb("#C8C8CB"),
    accent=hexrgb("#4DC4FF"),
    highlight=hexrgb("#FFF100"),
    quiet=hexrgb("#03AF7A"),
    moderate=hexrgb("#F6AA00"),
    busy=hexrgb("#FF4B00"),
    line=hexrgb("#BFE4FF"),
    border=0,
)
HIGH_CONTRAST = Palette(
    "high-contrast",
    bg=(0, 0, 0),
    panel=(0, 0, 0),
    header=(0, 0, 0),
    text=(255, 255, 255),
    muted=(255, 255, 255),
    accent=hexrgb("#FFF100"),
    highlight=hexrgb("#FFF100"),
    quiet=hexrgb("#77D9A8"),
    moderate=hexrgb("#FFCA80"),
    busy=hexrgb("#FF8082"),
    line=(255, 255, 255),
    border=3,
)

# role -> (preferred, minimum) in units of the legibility floor
ROLES: dict[str, tuple[float, float]] = {
    "display": (2.6, 1.5),
    "title": (1.7, 1.2),
    "heading": (1.3, 1.0),
    "body": (1.1, 1.0),
    "label": (1.0, 1.0),
}


@dataclass(frozen=True)
class Metrics:
    width: int
    height: int
    px_per_mm: float
    unit: int  # font px of the legibility floor
    char_mm: float
    accessible: bool

    @property
    def portrait(self) -> bool:
        return self.height > self.width

    @property
    def margin(self) -> int:
        return max(8, int(self.unit * 0.8))

    def role(self, name: str) -> tuple[int, int]:
        pref, low = ROLES[name]
        return max(1, round(self.unit * pref)), max(1, round(self.unit * low))


def metrics(
    width: int,
    height: int,
    *,
    diagonal_in: float = 55.0,
    px_per_mm: float = 0.0,
    viewing_distance_m: float = 4.5,
    accessible: bool = False,
) -> Metrics:
    """Font unit for this panel and distance (see the module docstring)."""
    ppm = px_per_mm or math.hypot(width, height) / (diagonal_in * 25.4)
    char_mm = max(6.0, MM_PER_M * viewing_distance_m)
    unit = char_mm * ppm / CJK_GLYPH_EM
    if accessible:
        unit *= LARGE_TEXT
    return Metrics(width, height, ppm, max(12, math.ceil(unit)), char_mm, accessible)
