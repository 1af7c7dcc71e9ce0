"""Decode package assets (PNG bytes held in memory) into pygame Surfaces, once each."""

import functools
import io
import logging
from typing import Any

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=32)
def _decode(digest: str, path: str, blob: bytes) -> Any:
    import pygame

    try:
        return pygame.image.load(io.BytesIO(blob), path)
    except pygame.error as exc:
        # Header checks passed at install (content.check_image) but the data does not decode:
        # the scene is drawn without the image instead of the player exiting.
        log.error("signage: asset %s does not decode: %s", path, exc)
        return None


def surface(package: Any, path: str) -> Any:
    """The decoded image, or None when the package has no such asset or it does not decode."""
    blob = package.assets.get(path)
    if blob is None:
        return None
    return _decode(package.digest, path, blob)
