"""Scene images: painted once, cached, then only blitted (that is what keeps 60 frames/s).

A scene image depends on (package, scene, language, size, mode, and the live figures it
shows, rounded); the live clock is a small overlay drawn each frame from a per-minute cache,
so a ticking clock never forces a repaint of the whole scene.
"""

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signage_player.canvas import Canvas, FitRecord
from signage_player.scenes import painter
from signage_player.scenes.common import SceneContext, clock_box
from signage_player.style import CUD, HIGH_CONTRAST, Metrics

LIVE_SCENES = ("crowding", "weather", "jogging")
CACHE_SCENES = 4  # ~8 MB each at 1920x1080: current, fading-out, prefetched next, spare


@dataclass(frozen=True)
class Shown:
    """A painted scene: the image and how every text in it was fitted."""

    surface: Any
    fits: tuple[FitRecord, ...]

    @property
    def overflows(self) -> list[FitRecord]:
        return [r for r in self.fits if not r.fit.ok]


class Renderer:
    def __init__(
        self,
        fonts: Any,
        metrics: Metrics,
        *,
        languages: tuple[str, ...],
        location: str = "",
        window_min: int = 5,
    ) -> None:
        self.fonts = fonts
        self.metrics = metrics
        self.palette = HIGH_CONTRAST if metrics.accessible else CUD
        self.languages = languages
        self.location = location
        self.window_min = window_min
        self._cache: OrderedDict[tuple, Shown] = OrderedDict()
        self._clock: tuple[str, Any] | None = None

    def context(
        self, package: Any, spec: Any, lang: str, live: Any, now: datetime, emergency: Any = None
    ) -> SceneContext:
        langs = tuple(x for x in self.languages if x in package.languages) or ("ja",)
        location = self.location if self.location in package.places else package.location
        return SceneContext(
            package, spec, lang, langs, live, now, location, emergency, self.window_min
        )

    def paint(self, ctx: SceneContext, *, draw: bool = True, ink: list | None = None) -> Shown:
        """Paint a scene (or, with draw=False, only lay it out and fit its texts); `ink`
        collects where each text's pixels landed (tests)."""
        surface = None
        if draw:
            import pygame

            surface = pygame.Surface((self.metrics.width, self.metrics.height))
        canvas = Canvas(self.fonts, self.metrics, self.palette, ctx.lang, surface, ink=ink)
        painter(ctx.spec.type)(canvas, ctx)
        return Shown(surface, tuple(canvas.fits))

    def scene(
        self, package: Any, spec: Any, lang: str, live: Any, now: datetime, emergency: Any = None
    ) -> Shown:
        """The cached image of a scene, painted on first use."""
        key: tuple = (package.digest, spec.id, lang)
        if spec.type in LIVE_SCENES:
            key += (live.key(), now.date() if spec.type == "jogging" else None)
        if spec.type == "emergency":
            key += (None if emergency is None else emergency.stamp,)
        shown = self._cache.get(key)
        if shown is None:
            shown = self.paint(self.context(package, spec, lang, live, now, emergency))
            self._cache[key] = shown
            while len(self._cache) > CACHE_SCENES:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return shown

    def clock(self, now: datetime) -> tuple[Any, tuple[int, int]]:
        """The HH:MM overlay for the footer and where it goes (re-rendered once a minute)."""
        import pygame

        text = now.strftime("%H:%M")
        x, y, w, h = clock_box_for(self)
        if self._clock is None or self._clock[0] != text:
            size = self.metrics.role("label")[0]
            img = pygame.Surface((w, h))
            img.fill(self.palette.panel)
            glyphs = self.fonts.font("en", size, True).render(text, True, self.palette.text)
            img.blit(glyphs, (w - glyphs.get_width(), (h - glyphs.get_height()) // 2))
            self._clock = (text, img)
        return self._clock[1], (x, y)

    def compose(
        self,
        screen: Any,
        shown: Shown,
        now: datetime,
        *,
        previous: Shown | None = None,
        alpha: int = 255,
        clock: bool = True,
    ) -> None:
        """Draw one frame: a scene, or a crossfade from `previous` (never via black)."""
        if previous is not None and alpha < 255:
            screen.blit(previous.surface, (0, 0))
            shown.surface.set_alpha(alpha)
            screen.blit(shown.surface, (0, 0))
            shown.surface.set_alpha(None)
        else:
            screen.blit(shown.surface, (0, 0))
        if clock:
            self.compose_clock(screen, now)

    def compose_clock(self, screen: Any, now: datetime) -> None:
        img, pos = self.clock(now)
        screen.blit(img, pos)


def clock_box_for(renderer: Renderer) -> tuple[int, int, int, int]:
    canvas = Canvas(renderer.fonts, renderer.metrics, renderer.palette, "en")
    return clock_box(canvas)
