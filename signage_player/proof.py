"""Proof of play: every scene shown is counted in the edge store under source "signage".

One observation `play.<scene>` (count 1) and one measurement `play.<scene>.seconds` per
showing, plus `content.<package id>:<version>` (count 1) naming the package that was
playing, committed in one transaction, so plays are binned and uplinked with the pedestrian
counts through the same outbox, offline or not. A store that cannot be written is logged and
skipped: the sign keeps playing.
"""

import logging
import re
from typing import Any

from walkway.errors import StoreError
from walkway.records import PLAY_SOURCE, Batch, Measurement, Observation

log = logging.getLogger(__name__)
SOURCE = PLAY_SOURCE


def package_key(package: Any) -> str:
    """`content.<id>:<version>`, in the wire's name alphabet (counts.v1.json), <= 80 chars."""
    return re.sub(r"[^A-Za-z0-9_.:/-]", "_", f"content.{package.id}:{package.version}")[:80]


def play_batch(t: float, scene_id: str, seconds: float, package: Any = None) -> Batch:
    named = [] if package is None else [Observation(t, SOURCE, package_key(package), 1)]
    return Batch(
        observations=[Observation(t, SOURCE, f"play.{scene_id}", 1), *named],
        measurements=[Measurement(t, SOURCE, f"play.{scene_id}.seconds", float(seconds))],
        watermark=t,
    )


def log_play(store: Any, t: float, scene_id: str, seconds: float, package: Any = None) -> bool:
    """Record one showing; returns False (and logs) if the store could not be written."""
    if store is None:
        return False
    try:
        store.commit_batch(SOURCE, play_batch(t, scene_id, seconds, package))
    except StoreError as exc:
        log.warning("signage: proof of play not recorded: %s", exc)
        return False
    return True
