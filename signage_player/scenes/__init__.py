"""Scene painters, one module per scene type: `paint(canvas, ctx, body)`."""

import importlib
from collections.abc import Callable
from typing import Any

MODULES = {
    "events": "events",
    "route": "route",
    "crowding": "crowding",
    "weather": "weather",
    "health_points": "health",
    "jogging": "jogging",
    "notices": "notices",
    "emergency": "emergency",
    "image": "image",
    "video": "video",
    "checkin": "checkin",
}


def painter(scene_type: str) -> Callable[..., Any]:
    return importlib.import_module(f"signage_player.scenes.{MODULES[scene_type]}").paint
