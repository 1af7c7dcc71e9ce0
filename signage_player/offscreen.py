"""One frame without a display: `walkway signage render`, golden tests and the docs' screenshots.

Renders use the package's sample live figures and a fixed local time unless told otherwise,
so the same package always gives the same picture.
"""

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from signage_player.content import load_package
from signage_player.live import sample_live
from signage_player.render import Renderer, Shown
from signage_player.style import metrics

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
    now: datetime = GOLDEN_NOW,
    draw: bool = True,
) -> tuple[Any, Shown]:
    """Render one scene; returns (frame surface or None, Shown with its fit records)."""
    import pygame

    from signage_player.fonts import FontBook

    if isinstance(package, str | Path):
        package = load_package(package)
    fonts = fonts or FontBook()
    m = metrics(
        *size, diagonal_in=diagonal_in, viewing_distance_m=viewing_distance_m, accessible=accessible
    )
    renderer = Renderer(fonts, m, languages=package.languages)
    spec = package.scene(scene_id)
    ctx = renderer.context(package, spec, lang, sample_live(package), now)
    shown = renderer.paint(ctx, draw=draw)
    if not draw:
        return None, shown
    frame = pygame.Surface(size)
    renderer.compose(frame, shown, now, clock=spec.type != "emergency")
    return frame, shown


def check_renders(package: Any, source: Path, fonts: Any = None) -> None:
    """Lay out every scene in every language; raise ContentError for data that breaks one."""
    from signage_player import assets
    from signage_player.content import ContentError
    from signage_player.fonts import FontBook

    fonts = fonts or FontBook()
    for rel in package.assets:
        # An image whose header passed but whose data does not decode is refused here, at
        # install, so the player never meets it (issue 18).
        if assets.surface(package, rel) is None:
            raise ContentError(f"{Path(source) / rel}: expected a PNG that decodes")
    for spec in package.scenes:
        for lang in package.languages:
            try:
                render_scene(package, spec.id, lang, (1920, 1080), fonts=fonts, draw=False)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                raise ContentError(
                    f"{Path(source) / spec.data}: scene {spec.id!r} cannot be shown in {lang}:"
                    f" {type(exc).__name__}: {exc}"
                ) from exc


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
    out.mkdir(parents=True, exist_ok=True)
    for sid, lang, size, accessible, suffix in jobs:
        frame, _ = render_scene(package, sid, lang, size, fonts=fonts, accessible=accessible)
        path = out / f"signage-{sid}-{lang}{suffix}.png"
        pygame.image.save(
            pygame.transform.smoothscale(frame, (size[0] // 2, size[1] // 2)), str(path)
        )
        written.append(path)
    return written
