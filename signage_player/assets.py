"""Decode package assets (PNG bytes held in memory) into pygame Surfaces, once each."""

import functools
import io
from typing import Any


@functools.lru_cache(maxsize=32)
def _decode(digest: str, path: str, blob: bytes) -> Any:
    import pygame

    return pygame.image.load(io.BytesIO(blob), path)


def surface(package: Any, path: str) -> Any:
    blob = package.assets.get(path)
    if blob is None:
        return None
    return _decode(package.digest, path, blob)
