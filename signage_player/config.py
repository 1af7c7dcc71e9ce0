"""The optional `[signage]` section of a node config (SIGNAGE_KEYS; the table in docs/signage.md).

Parsed with ConfigTable so that every problem is reported at once, one line each.
Must not import pygame: `walkway config validate` loads this on machines without a display.
"""

from dataclasses import dataclass
from pathlib import Path

from signage_player.interactive.handoff import DEFAULT_ROUTE_URL, check_template
from walkway.config_table import ConfigTable
from walkway.keys import Key, KeySpec

LANGUAGES = ("ja", "en", "zh-Hans", "ko")
SIGN_KINDS = ("any", "underground", "suburban")


SIGNAGE_KEYS = KeySpec("signage", [
    Key("content", "path", None, "content package to install on start (folder or archive; "
        "relative to the config)"),
    Key("content_public_key", "path", None, "the city's content public key (PEM, from "
        "`walkway provision content-key`): only packages signed with it are installed",
        must_exist=True),
    Key("state_dir", "path", "signage-state", "where installed packages, the emergency "
        "notice and `neighbours.json` live"),
    Key("width", "integer", 0, "pixels; `width` and `height` 0 = the display's own "
        "resolution", min=0, max=16384),
    Key("height", "integer", 0, "pixels (set with `width`, or both 0)", min=0, max=16384),
    Key("fullscreen", "flag", True, "full-screen (KMSDRM on the Pi); ignored by the dummy "
        "driver"),
    Key("diagonal_in", "number", 55.0, "panel diagonal in inches, for pixels per mm",
        min=5, max=400),
    Key("px_per_mm", "number", 0.0, "pixel density; overrides `diagonal_in` when set",
        min=0, max=100),
    Key("viewing_distance_m", "number", 4.5, "typical reading distance: sets the minimum "
        "text height", min=0.5, max=50),
    Key("languages", "list", LANGUAGES, "languages to rotate through (package order, "
        "Japanese first)", what="a list of language codes"),
    Key("accessible", "flag", False, "large text (x1.4) + high contrast, 1.5x longer on each "
        "screen"),
    Key("transition_s", "number", 0.8, "crossfade length (0 = cut)", min=0, max=10),
    Key("fps", "integer", 30, "frame rate cap", min=1, max=240),
    Key("location", "text", "", "place id of this sign (\"you are here\", routes start "
        "here); empty: the package's"),
    Key("sign_kind", "text", "any", "which scenes this sign plays", choices=SIGN_KINDS),
    Key("timezone", "text", "Asia/Tokyo", "IANA time zone for schedules and the clock",
        what="an IANA time zone"),
    Key("neighbours_file", "path", None, "neighbours' live counts (see below); none: "
        "`state_dir/neighbours.json`"),
    Key("crowd_window_min", "integer", 5, "minutes of counts averaged for \"crowding now\"",
        min=1, max=120),
    Key("proof_of_play", "flag", True, "log each showing to the edge store"),
    Key("check_every_s", "number", 2.0, "how often to look for an emergency, new content and "
        "fresh counts", min=0.1, max=3600),
    Key("interactive", "flag", True, "a touch opens the interactive mode (when the package "
        "has interactive data)"),
    Key("idle_timeout_s", "number", 45.0, "no touch for this long returns the sign to its "
        "playlist", min=5, max=3600),
    Key("reach_from", "number", 0.4, "controls only below this share of the screen height "
        "(reachable from a wheelchair)", min=0.0, max=0.8),
    Key("checkin_key", "path", None, "this sign's Ed25519 check-in key (PEM, from `walkway "
        "signage checkin-key`): the sign plays its `checkin` scenes with a rotating QR and "
        "signs its route hand-offs; none: no check-ins", must_exist=True),
    Key("route_url", "text", DEFAULT_ROUTE_URL, "URL template of the QR hand-off (see "
        "Interactive mode)", what="a URL template"),
])
D = SIGNAGE_KEYS.default


@dataclass(frozen=True)
class SignageConfig:
    content: Path | None
    state_dir: Path
    content_public_key: Path | None = D("content_public_key")
    width: int = D("width")
    height: int = D("height")
    fullscreen: bool = D("fullscreen")
    diagonal_in: float = D("diagonal_in")
    px_per_mm: float = D("px_per_mm")
    viewing_distance_m: float = D("viewing_distance_m")
    languages: tuple[str, ...] = D("languages")
    accessible: bool = D("accessible")
    transition_s: float = D("transition_s")
    fps: int = D("fps")
    location: str = D("location")
    sign_kind: str = D("sign_kind")
    timezone: str = D("timezone")
    neighbours_file: Path | None = D("neighbours_file")
    crowd_window_min: int = D("crowd_window_min")
    proof_of_play: bool = D("proof_of_play")
    check_every_s: float = D("check_every_s")
    interactive: bool = D("interactive")
    idle_timeout_s: float = D("idle_timeout_s")
    reach_from: float = D("reach_from")
    route_url: str = D("route_url")
    checkin_key: Path | None = D("checkin_key")

    @property
    def neighbours_path(self) -> Path:
        return self.neighbours_file or self.state_dir / "neighbours.json"


def parse_section(t: ConfigTable) -> SignageConfig:
    """Validate `[signage]`; problems are appended to the table's shared list."""
    languages = t.read(SIGNAGE_KEYS["languages"])
    bad = [x for x in languages if x not in LANGUAGES]
    if bad or not languages:
        t.problem("languages", "a non-empty list of " + ", ".join(LANGUAGES), languages)
        languages = list(LANGUAGES)
    values = {key.name: t.read(key) for key in SIGNAGE_KEYS if key.name != "languages"}
    cfg = SignageConfig(**values, languages=tuple(dict.fromkeys(languages)))
    problem = check_template(cfg.route_url)
    if problem:
        t.problem("route_url", problem, cfg.route_url)
    if (cfg.width == 0) != (cfg.height == 0):
        t.problem("width", "width and height both set or both 0 (the display's resolution)")
    _check_zone(t, cfg.timezone)
    t.finish()
    return cfg


def _check_zone(t: ConfigTable, zone: str | None) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(zone or "")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: name too long
        t.problem("timezone", "an IANA time zone such as Asia/Tokyo", zone)
