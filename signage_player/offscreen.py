"""One frame without a display: `walkway signage render`, golden tests and the docs' screenshots.

Renders use the package's sample live figures and a fixed local time unless told otherwise,
so the same package always gives the same picture.
"""

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from signage_player.content import ContentError, load_package
from signage_player.live import sample_live
from signage_player.render import Renderer, Shown
from signage_player.style import metrics
from walkway.signage_state.emergency import Emergency

GOLDEN_NOW = datetime(2026, 11, 29, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def parse_size(text: str) -> tuple[int, int]:
    """'1920x1080' -> (1920, 1080); raises ValueError."""
    w, _, h = text.lower().partition("x")
    size = (int(w), int(h))
    if not (64 <= size[0] <= 16384 and 64 <= size[1] <= 16384):
        raise ValueError(f"expected WxH from 64x64 to 16384x16384, got {text!r}")
    return size


def render_scene(
    package: Any,
    scene_id: str,
    lang: str,
    size: tuple[int, int],
    *,
    fonts: Any = None,
    accessible: bool = False,
    viewing_distance_m: float = 4.5,
    diagonal_in: float = 55.0,
    px_per_mm: float = 0.0,
    now: datetime = GOLDEN_NOW,
    draw: bool = True,
    ink: list | None = None,
    emergency: Any = None,
) -> tuple[Any, Shown]:
    """Render one scene; returns (frame surface or None, Shown with its fit records)."""
    import pygame

    from signage_player.fonts import FontBook

    if isinstance(package, str | Path):
        package = load_package(package)
    fonts = fonts or FontBook()
    m = metrics(
        *size,
        diagonal_in=diagonal_in,
        px_per_mm=px_per_mm,
        viewing_distance_m=viewing_distance_m,
        accessible=accessible,
    )
    renderer = Renderer(fonts, m, languages=package.languages)
    spec = package.scene(scene_id)
    ctx = renderer.context(package, spec, lang, sample_live(package), now, emergency)
    shown = renderer.paint(ctx, draw=draw, ink=ink)
    if not draw:
        return None, shown
    frame = pygame.Surface(size)
    renderer.compose(frame, shown, now, clock=spec.type != "emergency")
    return frame, shown


# Without a sign's config: both orientations, normal and accessible (large text).
CHECK_LAYOUTS: tuple[dict, ...] = tuple(
    {"size": size, "accessible": accessible}
    for accessible in (False, True)
    for size in ((1920, 1080), (1080, 1920))
)


def sign_layouts(cfg: Any) -> tuple[dict, ...]:
    """The layouts a configured sign shows (render_scene keywords): its size, or both
    orientations when it takes the display's own; its mode, panel and viewing distance."""
    sizes = [(cfg.width, cfg.height)] if cfg.width and cfg.height else [(1920, 1080), (1080, 1920)]
    return tuple(
        {
            "size": size,
            "accessible": cfg.accessible,
            "diagonal_in": cfg.diagonal_in,
            "px_per_mm": cfg.px_per_mm,
            "viewing_distance_m": cfg.viewing_distance_m,
        }
        for size in sizes
    )


class TextCutError(ContentError):
    """A text of the package cannot be shown whole on the sign."""


def glyph_warnings(package: Any, source: Path, fonts: Any) -> list[str]:
    """One line per character in the package's texts that no installed face has (it would
    show as a box), naming the file, the field and the character."""
    out: list[str] = []

    def walk(obj: Any, rel: str, path: str, lang: str) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                sub_lang = k if k in package.languages else lang
                walk(v, rel, f"{path}.{k}" if path else str(k), sub_lang)
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, rel, f"{path}[{i}]", lang)
        elif isinstance(obj, str):
            for char in fonts.missing_glyphs(obj, lang):
                out.append(
                    f"{Path(source) / rel}: {path}: U+{ord(char):04X} {char!r} has no glyph in"
                    " any installed font (it would show as a box): use another character"
                )

    manifest = json.loads((package.root / "manifest.json").read_text("utf-8"))
    walk(dict(package.strings), manifest["strings"], "", "ja")
    walk(dict(package.places), manifest["places"], "", "ja")
    for rel, data in package.data.items():
        walk(data, rel, "", "ja")
    return out


def check_renders(
    package: Any,
    source: Path,
    fonts: Any = None,
    layouts: tuple[dict, ...] | None = None,
    *,
    refuse_cut: bool = True,
) -> list[str]:
    """Lay out every scene in every language in each layout (`sign_layouts(cfg)`, default
    CHECK_LAYOUTS); raise ContentError for data that breaks one or text that would be cut
    (what `walkway signage render` exits 1 for), so such a package is refused before it
    reaches the street (TextCutError; with refuse_cut=False it is a warning instead). Returns
    warnings for characters no face has (see glyph_warnings)."""
    from signage_player import assets
    from signage_player.fonts import FontBook

    fonts = fonts or FontBook()
    warnings: list[str] = []
    for rel in package.assets:
        # An image whose header passed but whose data does not decode is refused here, at
        # install, so the player never meets it (issue 18).
        if assets.surface(package, rel) is None:
            raise ContentError(f"{Path(source) / rel}: expected a PNG that decodes")
    for rel, info in package.videos.items():
        from signage_player.video import VideoError, check_decodes

        try:
            check_decodes(info)
        except VideoError as exc:
            raise ContentError(f"{Path(source) / rel}: video: expected an H.264 MP4 that"
                               f" decodes ({exc})") from exc
    for spec in package.scenes:
        for lang in package.languages:
            for layout in layouts or CHECK_LAYOUTS:
                options = dict(layout)
                size = options.pop("size")
                try:
                    _, shown = render_scene(
                        package, spec.id, lang, size, fonts=fonts, draw=False, **options
                    )
                except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                    raise ContentError(
                        f"{Path(source) / spec.data}: scene {spec.id!r} cannot be shown in {lang}:"
                        f" {type(exc).__name__}: {exc}"
                    ) from exc
                for record in shown.overflows:
                    mode = " (accessible)" if options.get("accessible") else ""
                    cut = (
                        f"{Path(source) / spec.data}: {record.name} does not fit at"
                        f" {size[0]}x{size[1]}{mode} even at the smallest legible size (it would"
                        f" show as {' / '.join(record.fit.lines)!r}): shorten it"
                    )
                    if refuse_cut:
                        raise TextCutError(cut)
                    warnings.append(cut)
    return warnings + glyph_warnings(package, source, fonts)


def write_screenshots(content: str | Path, out_dir: str | Path) -> list[Path]:
    """The docs' screenshots: every scene in ja and en (landscape, half size), a few portrait
    and accessible-mode examples. Returns the files written."""
    import pygame

    from signage_player.fonts import FontBook

    package = load_package(content)
    fonts, out, written = FontBook(), Path(out_dir), []
    jobs = [(s.id, lang, (1920, 1080), False, "") for s in package.scenes for lang in ("ja", "en")]
    jobs += [
        (sid, lang, (1080, 1920), False, "-portrait")
        for sid, lang in (("route", "ja"), ("crowding", "zh-Hans"), ("events", "ko"))
    ]
    jobs += [
        (sid, lang, (1920, 1080), True, "-accessible")
        for sid, lang in (("events", "ja"), ("weather", "en"))
    ]
    jobs += [
        (s.id, "ja", (1920, 1080), False, "-fire") for s in package.scenes if s.type == "emergency"
    ]
    # A notice as the crew CLI sets it without --title: the generic heading, not the sample's.
    fire = Emergency(
        {
            "ja": "地下街で火災が発生しました。係員の指示に従って、落ち着いて避難してください。",
            "en": "Fire in the underground mall. Follow staff instructions and leave calmly.",
        },
        {},
        0.0,
        0.0,
    )
    out.mkdir(parents=True, exist_ok=True)
    for sid, lang, size, accessible, suffix in jobs:
        frame, _ = render_scene(
            package,
            sid,
            lang,
            size,
            fonts=fonts,
            accessible=accessible,
            emergency=fire if suffix == "-fire" else None,
        )
        path = out / f"signage-{sid}-{lang}{suffix}.png"
        pygame.image.save(
            pygame.transform.smoothscale(frame, (size[0] // 2, size[1] // 2)), str(path)
        )
        written.append(path)
    return written
