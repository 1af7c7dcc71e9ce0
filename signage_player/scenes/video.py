"""Full-screen video slide (an H.264 MP4 listed in the manifest's `videos`).

Data: {"video": "assets/intro.mp4", "fit": "contain" | "cover" | "stretch",
       "play": "loop" | "to_end", "background": "#000000"}
The player plays it (signage_player/video.py); this painter draws its first frame, which is
what `walkway signage render`, the golden images and the layout checks at build and install
see. Without drawing it checks the data only; install decodes every video once
(offscreen.check_renders), so an undecodable one is refused before it reaches the street.
"""

from typing import Any

from signage_player.canvas import Canvas
from signage_player.scenes.common import SceneContext


def info(ctx: SceneContext) -> Any:
    rel = ctx.data["video"]
    found = ctx.package.videos.get(rel) if isinstance(rel, str) else None
    if found is None:
        raise KeyError(f"video: {rel!r} is not in the manifest's videos")
    return found


def paint(canvas: Canvas, ctx: SceneContext, body: Any = None) -> None:
    from signage_player.video import VideoError, VideoSlide, options

    options(ctx.data)
    clip = info(ctx)
    if canvas.surface is None:
        return
    slide = VideoSlide(clip, ctx.data, canvas.size)
    try:
        slide.prepare()
    except VideoError as exc:
        raise ValueError(f"video: {ctx.data['video']!r}: {exc}") from exc
    finally:
        slide.close()
    canvas.surface.blit(slide.surface, (0, 0))
