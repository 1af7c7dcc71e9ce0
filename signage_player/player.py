"""The player loop: schedule -> scene images -> crossfades -> screen, with proof of play.

Each frame blits a cached scene image (plus the clock overlay); painting happens only when a
scene/language first shows or its live figures change. Every `check_every_s` the player looks
for an emergency notice, a newly installed content package and fresh live figures.
Crossfades draw the old image and then the new one with growing alpha over it: both are
opaque, so no frame is ever black.
"""

import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from signage_player.config import SignageConfig
from signage_player.content import ContentError, Package, SceneSpec, load_package
from signage_player.install import current_target
from signage_player.live import Live, read_live
from signage_player.proof import log_play
from signage_player.render import Renderer, Shown
from signage_player.schedule import is_active
from signage_player.startup import ensure_content
from walkway.errors import StoreError, WalkwayError
from walkway.signage_state.emergency import read_emergency

log = logging.getLogger(__name__)
PREFETCH_S = 1.5


class DisplayError(WalkwayError):
    """The display cannot be opened (no KMSDRM/X/Wayland, or a busy framebuffer)."""


@dataclass
class Slot:
    spec: SceneSpec
    lang: str
    started: float
    dwell: float


def playlist(
    package: Package, cfg: SignageConfig, now: datetime, checkin: bool = False
) -> list[tuple[SceneSpec, str]]:
    """Scenes playable now for this sign kind, each in every language (Japanese first);
    `checkin` scenes only on a sign that offers check-ins (it has a check-in key).

    When the schedule leaves nothing (e.g. 03:00), unscheduled scenes play; failing that,
    the first scene, so the screen is never blank."""
    langs = [x for x in package.languages if x in cfg.languages] or ["ja"]
    scenes = [
        s
        for s in package.scenes
        if s.type != "emergency"
        and (checkin or s.type != "checkin")
        and (cfg.sign_kind == "any" or cfg.sign_kind in s.kinds)
    ]
    active = [s for s in scenes if is_active(s.windows, now)]
    active = active or [s for s in scenes if not s.windows] or scenes[:1]
    # A video has no text: it plays once per round, not once per language.
    return [(s, lang) for s in active for lang in (langs[:1] if s.type == "video" else langs)]


class Player:
    def __init__(
        self,
        cfg: SignageConfig,
        renderer: Renderer,
        package: Package,
        *,
        store: Any = None,
        node: str = "",
        clock: Callable[[], float] = time.time,
        checkin: Any = None,
    ) -> None:
        self.cfg = cfg
        self.checkin = checkin  # checkin_qr.CheckinSigner: this sign offers check-ins
        self.renderer = renderer
        self.package = package
        self.target = current_target(cfg.state_dir)
        self.store = store
        self.node = node
        self.clock = clock
        self.zone = ZoneInfo(cfg.timezone)
        self.live = Live()
        self.emergency = None
        self.slot: Slot | None = None
        self.shown: Shown | None = None
        self.previous: Shown | None = None
        self.fade_start = 0.0
        self.next_check = float("-inf")
        self.order = 0
        self.prefetched = -1
        self.frames = 0
        self.problem = ""  # shown in the heartbeat: why the sign is degraded
        self.screen: Any = None
        self.visit: Any = None  # interactive.session.Visit while a passer-by uses the sign
        self._catalog: tuple[str, Any] | None = None
        self.video: Any = None  # video.VideoSlide of the current slot, if it is a video
        self.next_video: tuple[int, Any] | None = None  # (order, VideoSlide) prepared ahead

    def local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.zone)

    # -- polling -------------------------------------------------------------------------
    def check(self, t: float) -> None:
        from signage_player.ops import answer_screenshot, heartbeat, playing

        heartbeat(
            self.cfg.state_dir,
            t,
            frames=self.frames,
            problem=self.problem,
            scene=self.slot.spec.id if self.slot else "",
            content=playing(self.package, self.cfg.state_dir),
        )
        answer_screenshot(self.cfg.state_dir, self.screen)
        self.emergency = read_emergency(self.cfg.state_dir)
        target = current_target(self.cfg.state_dir)
        if target != self.target:
            self.target = target
            try:
                self.package = load_package(target) if target else self.package
                log.info("signage: playing %s %s", self.package.id, self.package.version)
            except (ContentError, OSError) as exc:
                log.error("signage: new content rejected, old content keeps playing: %s", exc)
                self.problem = f"new content rejected: {exc}"
        self.live = read_live(
            self.package,
            self.store,
            self.node,
            self.cfg.neighbours_path,
            t,
            self.cfg.crowd_window_min,
        )

    # -- scheduling ----------------------------------------------------------------------
    def _advance(self, t: float) -> None:
        if self.slot is not None:
            self._proof(t)
        self._close_video()
        if self.emergency is not None:
            spec = (
                next(s for s in self.package.scenes if s.type == "emergency")
                if any(s.type == "emergency" for s in self.package.scenes)
                else None
            )
            if spec is not None:
                self.slot = Slot(spec, self.package.languages[0], t, spec.seconds)
                return
        items = playlist(self.package, self.cfg, self.local(t), self.checkin is not None)
        for _ in range(len(items)):  # a video that cannot play is skipped (logged)
            spec, lang = items[self.order % len(items)]
            self.order += 1
            if spec.type != "video" or self._start_video(spec, self.order - 1):
                break
        else:  # only videos are scheduled now and none plays: a scene that is not one
            spec = next(s for s in self.package.scenes
                        if s.type not in ("emergency", "video", "checkin"))
        self._drop_next_video()
        dwell = spec.seconds * (1.5 if self.cfg.accessible else 1.0)  # more time to read
        if self.video is not None and self.video.play == "to_end":
            dwell = self.video.seconds + 0.5  # ends when the clip does; the header's length caps it
        self.slot = Slot(spec, lang, t, dwell)

    # -- video slides ----------------------------------------------------------------------
    def _video_slide(self, spec: SceneSpec) -> Any:
        """A video slide for spec with its first frame decoded; VideoError if it cannot."""
        from signage_player.video import VideoError, VideoSlide

        data = self.package.data[spec.data]
        info = self.package.videos.get(data.get("video"))
        if info is None:
            raise VideoError(f"{data.get('video')!r} is not in the package's videos")
        try:
            slide = VideoSlide(info, data, (self.renderer.metrics.width,
                                            self.renderer.metrics.height))
        except ValueError as exc:
            raise VideoError(str(exc)) from exc
        return slide.prepare()

    def _start_video(self, spec: SceneSpec, order: int) -> bool:
        from signage_player.video import VideoError

        if self.next_video is not None and self.next_video[0] == order:
            self.video, self.next_video = self.next_video[1], None
            return True
        try:
            self.video = self._video_slide(spec)
        except VideoError as exc:
            log.error("signage: video scene %s skipped: %s", spec.id, exc)
            self.problem = f"video scene {spec.id} skipped: {exc}"
            return False
        return True

    def _close_video(self) -> None:
        """The current slot's decoders go; its surface (the last frame) stays for the fade."""
        if self.video is not None:
            self.video.close()
            self.video = None

    def _drop_next_video(self) -> None:
        if self.next_video is not None:
            self.next_video[1].close()
            self.next_video = None

    def _proof(self, t: float) -> None:
        if self.cfg.proof_of_play and self.slot is not None:
            log_play(self.store, t, self.slot.spec.id, t - self.slot.started, self.package)

    # -- interaction -----------------------------------------------------------------------
    def catalog(self) -> Any:
        """The current package's searchable catalog (None: the sign stays a slideshow)."""
        from signage_player.interactive.catalog import load_catalog

        if self._catalog is None or self._catalog[0] != self.package.digest:
            try:
                catalog = (
                    load_catalog(self.package, self.renderer.location)
                    if self.cfg.interactive
                    else None
                )
            except ContentError as exc:
                log.error("signage: interactive mode off: %s", exc)
                self.problem = f"interactive mode off: {exc}"
                catalog = None
            self._catalog = (self.package.digest, catalog)
        return self._catalog[1]

    def touch(self, x: int, y: int) -> None:
        """A tap at pixel (x, y). The first tap opens the home screen (it presses nothing, so
        a passer-by brushing the glass never lands deep in a menu); an emergency ignores taps."""
        t = self.clock()
        if self.emergency is not None:
            return
        if self.visit is None:
            catalog = self.catalog()
            if catalog is None:
                return
            self.visit = self._new_visit(catalog, t)
            self._proof(t)  # the scene that was showing ends here
            self.slot = None
            self._close_video()
            self._drop_next_video()
            return
        self.visit.tap(x, y, t)

    def _new_visit(self, catalog: Any, t: float) -> Any:
        from signage_player.interactive.graph import crowding_by_segment
        from signage_player.interactive.screens import Env
        from signage_player.interactive.session import Visit
        from signage_player.live import _walkways
        from signage_player.style import metrics

        m = self.renderer.metrics
        large = metrics(
            m.width,
            m.height,
            diagonal_in=self.cfg.diagonal_in,
            px_per_mm=self.cfg.px_per_mm,
            viewing_distance_m=self.cfg.viewing_distance_m,
            accessible=True,
        )
        langs = [x for x in self.package.languages if x in self.cfg.languages] or ["ja"]
        env = Env(
            catalog=catalog,
            fonts=self.renderer.fonts,
            normal=m,
            large_text=large,
            lang=langs[0],
            now=self.local(t),
            crowding=crowding_by_segment(_walkways(self.package), self.live.flow),
            route_url=self.cfg.route_url,
            reach_from=self.cfg.reach_from,
            large=self.cfg.accessible,
            route_token=self._route_token if self.checkin is not None else None,
        )
        return Visit(env, t, t)

    def _route_token(self, route: Any) -> str | None:
        return self.checkin.route_token(self.clock(), route) if self.checkin else None

    def _checkin_overlay(self, screen: Any, t: float) -> None:
        """The current window's check-in QR into the box the `checkin` scene left white."""
        from signage_player.canvas import Canvas
        from signage_player.scenes.checkin import qr_box

        r = self.renderer
        x, y, w, h = qr_box(Canvas(r.fonts, r.metrics, r.palette, "en"))
        img = self.checkin.surface(t, min(w, h))
        screen.blit(img, (x + (w - img.get_width()) // 2, y + (h - img.get_height()) // 2))

    def end_visit(self, t: float) -> None:
        from signage_player.interactive.session import record_visit

        if self.visit is not None:
            record_visit(self.store, t, self.visit)
            self.visit = None
            self.slot = None  # back to the playlist from its next scene

    def frame(self, screen: Any) -> None:
        """Draw one frame at the current time."""
        t = self.clock()
        self.screen = screen
        self.frames += 1
        if t >= self.next_check:
            self.next_check = t + self.cfg.check_every_s
            self.check(t)
        if self.visit is not None:
            if self.emergency is not None or self.visit.idle(t, self.cfg.idle_timeout_s):
                self.end_visit(t)  # an emergency always wins; an idle sign returns to the loop
            else:
                painted = self.visit.screen().surface
                if painted is not None:  # None: a layout-only visit (robustness tests)
                    screen.blit(painted, (0, 0))
                return
        in_emergency = self.slot is not None and self.slot.spec.type == "emergency"
        due = self.slot is None or t - self.slot.started >= self.slot.dwell
        due = due or (self.video is not None and self.video.finished)  # play = to_end
        if (self.emergency is not None) != in_emergency:
            due = True  # an emergency starts or ends: switch now
        elif in_emergency:
            due = False  # stays until cleared
        if due:
            self.previous = self.shown
            self._advance(t)
            self.fade_start = t
        slot = self.slot
        assert slot is not None
        now = self.local(t)
        if self.video is not None:
            self.video.update(t)  # the frame due now; its Shown stays the same object
            shown = self.video.shown
        else:
            shown = self.renderer.scene(
                self.package,
                slot.spec,
                slot.lang,
                self.live,
                now,
                self.emergency if slot.spec.type == "emergency" else None,
            )
        if shown is not self.shown and not due and self.shown is not None:
            self.previous, self.fade_start = self.shown, t  # live figures changed: fade too
        self.shown = shown
        alpha = 255
        if self.previous is not None and self.cfg.transition_s > 0:
            alpha = min(255, int(255 * (t - self.fade_start) / self.cfg.transition_s))
            if alpha >= 255:
                self.previous = None
        if self.video is not None and self.previous is None:
            self.video.blit_to(screen)  # steady video: the frame straight to the screen
            self.renderer.compose_clock(screen, now)
        else:
            if self.video is not None:
                self.video.sync()  # fading into a video: its surface takes the latest frame
            self.renderer.compose(
                screen,
                shown,
                now,
                previous=self.previous,
                alpha=alpha,
                clock=slot.spec.type != "emergency",
            )
        if slot.spec.type == "checkin" and self.checkin is not None:
            self._checkin_overlay(screen, t)
        if self.previous is None and slot.dwell - (t - slot.started) < PREFETCH_S:
            self._prefetch(t)

    def _prefetch(self, t: float) -> None:
        """Paint the next slot's image while the screen is still: a pause then is invisible,
        whereas painting at the switch would stall the start of the crossfade."""
        if self.prefetched == self.order or self.emergency is not None:
            return
        self.prefetched = self.order
        items = playlist(self.package, self.cfg, self.local(t), self.checkin is not None)
        spec, lang = items[self.order % len(items)]
        if spec.type == "video":
            from signage_player.video import VideoError

            self._drop_next_video()
            try:  # open it and decode its first frame now: the switch then shows a picture
                self.next_video = (self.order, self._video_slide(spec))
            except VideoError as exc:
                log.error("signage: video scene %s will be skipped: %s", spec.id, exc)
            return
        self.renderer.scene(self.package, spec, lang, self.live, self.local(t))

    def skip(self) -> None:
        """Give up on the current slot (its scene failed to paint): the next frame moves on."""
        self.problem = f"scene {self.slot.spec.id if self.slot else '?'} failed to paint"
        if self.slot is not None:
            self.slot.dwell = 0.0
            self.emergency = None if self.slot.spec.type == "emergency" else self.emergency

    def close(self) -> None:
        self.end_visit(self.clock())
        self._proof(self.clock())
        self._close_video()
        self._drop_next_video()


def run_player(
    cfg: SignageConfig, node_config: Any = None, *, frames: int = 0, screenshot: Path | None = None
) -> int:
    """`walkway signage run`: open the display and play until SIGTERM (or `frames`)."""
    import pygame

    from signage_player.fonts import FontBook
    from signage_player.style import metrics

    package = ensure_content(cfg)
    try:
        pygame.display.init()
        # (0, 0) full-screen = the display's own resolution (KMSDRM on the Pi). The dummy
        # driver (offscreen) has no real mode list: it gets the configured size.
        offscreen = pygame.display.get_driver() in ("dummy", "offscreen")
        flags = pygame.FULLSCREEN if cfg.fullscreen and not offscreen else 0
        size = (cfg.width, cfg.height) if cfg.width else ((0, 0) if flags else (1920, 1080))
        screen = pygame.display.set_mode(size, flags)
    except pygame.error as exc:
        driver = os.environ.get("SDL_VIDEODRIVER", "auto")
        raise DisplayError(
            f"signage: cannot open the display (SDL_VIDEODRIVER={driver}): {exc};"
            " offscreen runs need SDL_VIDEODRIVER=dummy"
        ) from exc
    pygame.mouse.set_visible(False)
    w, h = screen.get_size()
    m = metrics(
        w,
        h,
        diagonal_in=cfg.diagonal_in,
        px_per_mm=cfg.px_per_mm,
        viewing_distance_m=cfg.viewing_distance_m,
        accessible=cfg.accessible,
    )
    renderer = Renderer(
        FontBook(),
        m,
        languages=cfg.languages,
        location=cfg.location,
        window_min=cfg.crowd_window_min,
    )
    from walkway.clock import clock_from_env  # WALKWAY_CLOCK: `walkway sim` time

    clock = clock_from_env()
    # The same clock for the plays and the store that stamps them (sealed_at, updated_at):
    # a simulated play sealed on the wall clock showed a latency of minus days in the report.
    store = _open_store(node_config, clock) if cfg.proof_of_play else None
    node = node_config.node.id if node_config is not None else ""
    from signage_player.checkin_qr import load_signer

    signer, problem = load_signer(cfg, node)
    player = Player(cfg, renderer, package, store=store, node=node, clock=clock, checkin=signer)
    if problem:
        log.error("signage: %s", problem)
        player.problem = problem
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    log.info("signage: %dx%d, unit %d px, playing %s %s", w, h, m.unit, package.id, package.version)
    from walkway.notify import FrameWatchdog

    watchdog = FrameWatchdog.from_env(max_frame_gap_s=5.0)  # systemd: frames keep coming
    tick = pygame.time.Clock()
    count = 0
    try:
        while not stop and (not frames or count < frames):
            for event in pygame.event.get():
                if event.type == pygame.QUIT:
                    stop.append(1)
                elif event.type == pygame.FINGERDOWN:  # touch panels: x, y are 0..1
                    player.touch(int(event.x * w), int(event.y * h))
                elif event.type == pygame.MOUSEBUTTONDOWN and not getattr(event, "touch", False):
                    player.touch(*event.pos)  # SDL also sends touches as mouse: skip those
            try:
                player.frame(screen)
            except Exception:  # noqa: BLE001 - supervised boundary: one bad scene never blanks the sign
                log.exception("signage: scene failed; skipping it")
                player.skip()
            pygame.display.flip()
            watchdog.frame_drawn()
            if count == 0:
                watchdog.ready()
            count += 1
            tick.tick(cfg.fps)
        if screenshot is not None:
            pygame.image.save(screen, str(screenshot))
    finally:
        player.close()
        if store is not None:
            store.close()
        pygame.display.quit()
    return 0


def _open_store(node_config: Any, clock: Callable[[], float]) -> Any:
    if node_config is None:
        return None
    from edge.store import Store

    try:
        return Store.from_config(node_config, clock=clock)
    except StoreError as exc:
        log.warning("signage: no proof of play or live counts (store unavailable): %s", exc)
        return None
