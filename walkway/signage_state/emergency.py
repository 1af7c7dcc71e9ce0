"""The emergency notice: overrides every scene until cleared.

State is one JSON file, `state_dir/emergency.json`, written with walkway.files.write_atomic
(temp file, fsync, rename, folder fsync) so the player never reads half a notice, and it
survives restarts and power cuts.
Any process may set or clear it: the crew CLI, the remote-command handler, tests.

    set_emergency(state_dir, {"ja": "...", "en": "..."}, title={"ja": ...})
    clear_emergency(state_dir)
    read_emergency(state_dir) -> Emergency | None
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

from walkway.errors import UsageError
from walkway.files import write_atomic

FILE = "emergency.json"


@dataclass(frozen=True)
class Emergency:
    text: dict[str, str]  # language -> message
    title: dict[str, str]  # language -> heading; empty: the package's default
    set_at: float
    stamp: float  # file mtime: changes whenever the notice changes


def _path(state_dir: str | Path) -> Path:
    return Path(state_dir) / FILE


def set_emergency(
    state_dir: str | Path,
    text_by_lang: dict[str, str],
    *,
    title: dict[str, str] | None = None,
    now: float | None = None,
) -> Path:
    """Show `text_by_lang` on the sign above everything until `clear_emergency`."""
    if not text_by_lang or not all(isinstance(v, str) and v.strip() for v in text_by_lang.values()):
        raise UsageError("emergency: expected at least one non-empty text, e.g. ja=...")
    if "ja" not in text_by_lang:
        raise UsageError("emergency: expected a Japanese (ja) text; other languages are optional")
    path = _path(state_dir)
    body = {
        "text": text_by_lang,
        "title": title or {},
        "set_at": time.time() if now is None else now,
    }
    return write_atomic(path, json.dumps(body, ensure_ascii=False))


def clear_emergency(state_dir: str | Path) -> bool:
    """Remove the notice; returns False if none was set."""
    try:
        _path(state_dir).unlink()
    except FileNotFoundError:
        return False
    return True


def read_emergency(state_dir: str | Path) -> Emergency | None:
    """The current notice, or None. A damaged file still shows as an emergency (fail safe)."""
    path = _path(state_dir)
    try:
        stamp = path.stat().st_mtime
        body = json.loads(path.read_text("utf-8"))
        text = {str(k): str(v) for k, v in dict(body["text"]).items()}
        title = {str(k): str(v) for k, v in dict(body.get("title") or {}).items()}
        return Emergency(text, title, float(body.get("set_at", stamp)), stamp)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        # Someone meant to raise an alarm: show a generic one rather than nothing.
        return Emergency({}, {}, 0.0, 0.0)
