"""The optional `[signage]` section of a node config (see docs/signage.md for every key).

Parsed with ConfigTable so that every problem is reported at once, one line each.
Must not import pygame: `walkway config validate` loads this on machines without a display.
"""

from dataclasses import dataclass
from pathlib import Path

from walkway.config_table import ConfigTable

LANGUAGES = ("ja", "en", "zh-Hans", "ko")
SIGN_KINDS = ("any", "underground", "suburban")


@dataclass(frozen=True)
class SignageConfig:
    content: Path | None
    state_dir: Path
    width: int = 0
    height: int = 0
    fullscreen: bool = True
    diagonal_in: float = 55.0
    px_per_mm: float = 0.0
    viewing_distance_m: float = 4.5
    languages: tuple[str, ...] = LANGUAGES
    accessible: bool = False
    transition_s: float = 0.8
    fps: int = 30
    location: str = ""
    sign_kind: str = "any"
    timezone: str = "Asia/Tokyo"
    neighbours_file: Path | None = None
    crowd_window_min: int = 5
    proof_of_play: bool = True
    check_every_s: float = 2.0

    @property
    def neighbours_path(self) -> Path:
        return self.neighbours_file or self.state_dir / "neighbours.json"


def parse_section(t: ConfigTable) -> SignageConfig:
    """Validate `[signage]`; problems are appended to the table's shared list."""
    languages = t.array("languages", list(LANGUAGES), what="a list of language codes")
    bad = [x for x in languages if x not in LANGUAGES]
    if bad or not languages:
        t.problem("languages", "a non-empty list of " + ", ".join(LANGUAGES), languages)
        languages = list(LANGUAGES)
    cfg = SignageConfig(
        content=t.path("content", None),
        state_dir=t.path("state_dir", "signage-state"),
        width=t.integer("width", 0, min=0, max=16384),
        height=t.integer("height", 0, min=0, max=16384),
        fullscreen=t.flag("fullscreen", True),
        diagonal_in=t.number("diagonal_in", 55.0, min=5, max=400),
        px_per_mm=t.number("px_per_mm", 0.0, min=0, max=100),
        viewing_distance_m=t.number("viewing_distance_m", 4.5, min=0.5, max=50),
        languages=tuple(dict.fromkeys(languages)),
        accessible=t.flag("accessible", False),
        transition_s=t.number("transition_s", 0.8, min=0, max=10),
        fps=t.integer("fps", 30, min=1, max=240),
        location=t.text("location", ""),
        sign_kind=t.text("sign_kind", "any", choices=SIGN_KINDS),
        timezone=t.text("timezone", "Asia/Tokyo", what="an IANA time zone"),
        neighbours_file=t.path("neighbours_file", None),
        crowd_window_min=t.integer("crowd_window_min", 5, min=1, max=120),
        proof_of_play=t.flag("proof_of_play", True),
        check_every_s=t.number("check_every_s", 2.0, min=0.1, max=3600),
    )
    if (cfg.width == 0) != (cfg.height == 0):
        t.problem("width", "width and height both set or both 0 (the display's resolution)")
    _check_zone(t, cfg.timezone)
    t.finish()
    return cfg


def _check_zone(t: ConfigTable, zone: str | None) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(zone or "")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        t.problem("timezone", "an IANA time zone such as Asia/Tokyo", zone)
