"""Write plain data back as TOML (the standard library only reads it).

Used by the move-line and recalibrate commands, which edit a node's config as data and
then apply it like any set-config. Comments in the original file are not kept; the
previous file is (node.toml.prev).
"""

import datetime
import json
import math
import re
from typing import Any

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    return name if BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(data: dict[str, Any], path: list[str], out: list[str]) -> None:
    simple = {k: v for k, v in data.items()
              if not isinstance(v, dict) and not _is_table_array(v)}
    for k, v in simple.items():
        out.append(f"{_key(k)} = {_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            name = ".".join(_key(p) for p in [*path, k])
            out.extend(["", f"[{name}]"])
            _table(v, [*path, k], out)
        elif _is_table_array(v):
            name = ".".join(_key(p) for p in [*path, k])
            for item in v:
                out.extend(["", f"[[{name}]]"])
                _table(item, [*path, k], out)


def dumps(data: dict[str, Any]) -> str:
    """TOML text that `tomllib.loads` reads back as `data`."""
    out: list[str] = []
    _table(data, [], out)
    return "\n".join(out).lstrip("\n") + "\n"
