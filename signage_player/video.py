"""Video slides on the screen: an H.264 MP4 decoded frame by frame, scaled like images.

Decoding is OpenCV's bundled FFmpeg in software (docs/signage.md, "Video slides"); a clip is
read from its file one frame at a time, so memory is a few frames whatever its length.

No black frame, ever:
- before a video's slot starts, the player opens it and decodes its first frame
  (`VideoSlide.prepare`, called from the player's prefetch), so the switch shows a picture;
- a loop is gapless: a second decoder on the same file has its first frame decoded ahead,
  and takes over at the exact time the last frame's time is up;
- when a clip ends, fails or its slot is over, its last frame stays on the slide's surface,
  which the crossfade to the next scene draws under the new one.
A clip that cannot be opened or decoded raises VideoError: the player logs it and skips the
slot (the package always has a scene that is not a video).
"""

import logging
from pathlib import Path
from typing import Any

from signage_player.render import Shown
from signage_player.scenes.image import _colour, target_rect

log = logging.getLogger(__name__)
FITS = ("contain", "cover", "stretch")
PLAYS = ("loop", "to_end")
DEFAULT_FPS = 25.0  # when the container does not say


class VideoError(Exception):
    """A video slide cannot be played (missing file, no decoder, undecodable frames)."""


def options(data: dict[str, Any]) -> tuple[str, str, tuple[int, int, int]]:
    """(fit, play, background) of a video scene's data; ValueError naming the field."""
    fit = data.get("fit", "contain")
    if fit not in FITS:
        raise ValueError(f"fit: expected one of {', '.join(FITS)}, got {fit!r}")
    play = data.get("play", "loop")
    if play not in PLAYS:
        raise ValueError(f"play: expected one of {', '.join(PLAYS)}, got {play!r}")
    return fit, play, _colour(data.get("background", "#000000"))


class Clip:
    """One decoder on one file, giving frames scaled for the screen (BGR numpy arrays)."""

    def __init__(self, path: Path, screen: tuple[int, int], fit: str) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise VideoError("video slides need OpenCV: pip install 'walkway[signage]'") from exc
        self.cv2 = cv2
        if not path.is_file():
            raise VideoError(f"{path}: missing")
        self.cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not self.cap.isOpened():
            raise VideoError(f"{path}: FFmpeg cannot open it")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1.0 <= fps <= 120.0 else DEFAULT_FPS
        self.path, self.screen, self.fit = path, screen, fit
        self.index = -1  # the frame in self.frame
        self.frame: Any = None
        self.place: tuple[int, int] = (0, 0)

    def read(self, keep: bool = True) -> bool:
        """Decode the next frame (convert it only if `keep`); False at the end or an error."""
        if not self.cap.grab():
            return False
        self.index += 1
        if not keep:
            return True
        ok, raw = self.cap.retrieve()
        if not ok or raw is None:
            return False
        self.frame, self.place = self._scaled(raw)
        return True

    def _scaled(self, raw: Any) -> tuple[Any, tuple[int, int]]:
        cv2 = self.cv2
        ih, iw = raw.shape[:2]
        sw, sh = self.screen
        x, y, w, h = target_rect((iw, ih), (sw, sh), self.fit)
        if self.fit == "cover":  # crop the source to what shows, then scale only that
            cw, ch = min(iw, round(sw * iw / w)), min(ih, round(sh * ih / h))
            cx, cy = (iw - cw) // 2, (ih - ch) // 2
            raw, (x, y, w, h) = raw[cy:cy + ch, cx:cx + cw], (0, 0, sw, sh)
        if (w, h) != (raw.shape[1], raw.shape[0]):
            raw = cv2.resize(raw, (w, h), interpolation=cv2.INTER_LINEAR)
        elif not raw.flags["C_CONTIGUOUS"]:
            raw = raw.copy()
        return raw, (x, y)

    def close(self) -> None:
        self.cap.release()


class VideoSlide:
    """One showing of a video scene: its surface always holds the latest frame shown."""

    def __init__(self, info: Any, data: dict[str, Any], screen: tuple[int, int]) -> None:
        self.info = info
        self.fit, self.play, self.background = options(data)
        self.screen = screen
        self.clip: Clip | None = None
        self.next_clip: Clip | None = None  # the next loop, first frame decoded ahead
        self.surface: Any = None
        self.shown: Shown | None = None
        self.loop_start = 0.0  # when the current loop's frame 0 is due
        self.started = False
        self.finished = False  # play = to_end: the clip is over (its last frame stays)
        self.loops = 0
        self.filled = False  # the background behind a letterboxed clip: painted once
        self.image: Any = None  # the latest frame as a pygame surface over its BGR pixels
        self.place: tuple[int, int] = (0, 0)
        self.stale = False  # self.surface does not have the latest frame yet

    @property
    def seconds(self) -> float:
        return self.info.seconds

    def _open(self) -> Clip:
        clip = Clip(self.info.path, self.screen, self.fit)
        if not clip.read():
            clip.close()
            raise VideoError(f"{self.info.path}: its first frame does not decode")
        return clip

    def prepare(self) -> "VideoSlide":
        """Open the clip and show its first frame; raises VideoError."""
        import pygame

        if self.clip is None:
            self.clip = self._open()
            self.surface = pygame.Surface(self.screen)
            self._draw(self.clip)
            self.sync()
            self.shown = Shown(self.surface, ())
        return self

    def _draw(self, clip: Clip) -> None:
        import pygame

        frame = clip.frame
        h, w = frame.shape[:2]
        # Shares the frame's memory (the surface keeps the array alive): no copy here.
        self.image = pygame.image.frombuffer(frame.data, (w, h), "BGR")
        self.place, self.stale = clip.place, True

    @property
    def letterboxed(self) -> bool:
        return self.place != (0, 0) or self.image.get_size() != self.screen

    def sync(self) -> Any:
        """Bring the slide's own surface up to the latest frame (for a crossfade, or to
        keep the last frame once the decoders are gone); returns it."""
        if self.stale:
            if not self.filled and self.letterboxed:
                self.surface.fill(self.background)  # every frame covers the same rectangle
                self.filled = True
            self.surface.blit(self.image, self.place)
            self.stale = False
        return self.surface

    def blit_to(self, screen: Any) -> None:
        """The latest frame straight onto the screen: one conversion per frame instead of
        two copies (into the slide's surface, then onto the screen)."""
        if self.letterboxed:
            screen.fill(self.background)
        screen.blit(self.image, self.place)

    def update(self, t: float) -> None:
        """Show the frame due at time t (decoding, and skipping any it is late for)."""
        if self.clip is None or self.finished:
            return
        if not self.started:
            self.started, self.loop_start = True, t
        clip = self.clip
        due = int((t - self.loop_start) * clip.fps + 1e-6)
        if due <= clip.index:
            if self.play == "loop" and self.next_clip is None and clip.index >= 1:
                self._open_next()  # a frame with nothing to decode: do it now
            return
        while clip.index < due - 1:  # late: decode without converting the frames it skips
            if not clip.read(keep=False):
                return self._end(t, clip)
        if not clip.read():
            return self._end(t, clip)
        self._draw(clip)

    def _open_next(self) -> None:
        try:
            self.next_clip = self._open()
        except VideoError as exc:  # the file went away mid-play: the slot ends at the end
            log.error("signage: video %s: next loop cannot start: %s", self.info.path, exc)
            self.play = "to_end"

    def _end(self, t: float, clip: Clip) -> None:
        """The clip has no frame left (or stopped decoding): loop, or hold the last frame."""
        frames = clip.index + 1
        clip.close()
        if self.play == "loop" and self.next_clip is None and frames > 1:
            self._open_next()
        if self.play != "loop" or self.next_clip is None or frames <= 1:
            self.clip, self.finished = None, True
            return
        self.loops += 1
        self.loop_start += frames / clip.fps
        if (t - self.loop_start) * clip.fps >= frames:
            self.loop_start = t  # the player stalled for a whole loop: go on from now
        self.clip, self.next_clip = self.next_clip, None
        self._draw(self.clip)  # its frame 0, due now
        self.update(t)  # a very late frame catches up within the new loop

    def close(self) -> None:
        """Release the decoders; the surface keeps the last frame for a crossfade."""
        if self.surface is not None:
            self.sync()
        for clip in (self.clip, self.next_clip):
            if clip is not None:
                clip.close()
        self.clip = self.next_clip = None


def check_decodes(info: Any) -> None:
    """Open the clip and decode its first frame (install's and lint's check); VideoError.
    The rest is decoded at play time: a frame that fails there ends the clip early."""
    clip = Clip(info.path, (info.width, info.height), "stretch")
    try:
        if not clip.read():
            raise VideoError(f"{info.path}: its first frame does not decode")
    finally:
        clip.close()
