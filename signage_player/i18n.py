"""Translated strings and the walking arithmetic every sign uses.

Walking figures are computed from distance so content authors give metres only:
- minutes: 80 m per minute (the Japanese standard for "徒歩 N 分", Fair Trade rules);
- steps: 0.7 m per step (an adult's average stride);
- kcal: 3.5 METs (level walking at ~4.8 km/h, Compendium of Physical Activities) x 60 kg
  x hours x 1.05 (the usual conversion used by Japan's health ministry tables).
"""

import math
from typing import Any

LANGUAGE_NAMES = {"ja": "日本語", "en": "English", "zh-Hans": "简体中文", "ko": "한국어"}
M_PER_MIN = 80.0
STRIDE_M = 0.7
WALK_METS = 3.5
BODY_KG = 60.0


def walk_minutes(distance_m: float) -> int:
    return max(1, math.ceil(distance_m / M_PER_MIN))


def walk_steps(distance_m: float) -> int:
    return int(round(distance_m / STRIDE_M, -1))


def walk_kcal(distance_m: float) -> int:
    hours = distance_m / M_PER_MIN / 60
    return max(1, round(WALK_METS * BODY_KG * hours * 1.05))


def number(n: float) -> str:
    """Thousands separated the same way in all four languages (1,370)."""
    return f"{int(round(n)):,}"


def tr(package: Any, key: str, lang: str, **values: Any) -> str:
    """A package string in `lang`, with {placeholders} filled in."""
    text = package.strings[key][lang]
    return text.format(**values) if values else text


def pick(texts: Any, lang: str) -> str:
    """A content text: a {lang: text} object (or a plain string used as-is)."""
    if isinstance(texts, dict):
        return str(texts.get(lang) or texts["ja"])
    return str(texts)


def place_name(package: Any, place: str, lang: str) -> str:
    return pick(package.places[place]["name"], lang)
