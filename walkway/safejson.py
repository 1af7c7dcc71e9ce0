"""Decode JSON from outside the process without letting it crash or poison us (issue 18).

Used at every boundary where bytes arrive from another machine: the collector (counts,
health, command results), the bridge (commands, acks, flows) and content manifests.
Python's `json` is safe for well-formed input, but a hostile sender can still make it:

- raise RecursionError (nesting deeper than the interpreter's recursion limit);
- raise a bare ValueError (an integer longer than sys.get_int_max_str_digits, 4300);
- return NaN or Infinity (`NaN`, `1e400`), which a database stores as NULL or refuses;
- return integers beyond int64 (`2**64`), which SQLite refuses with OverflowError;
- accept UTF-16/UTF-32 bytes (json.loads detects them) and silently decode them.

`loads` turns every one of these into `BadJson` with a one-line reason, in this order:
size first (cheap), then a strict UTF-8 decode, then the parse, then one iterative walk
that checks depth, number ranges and any string shaped like a wire timestamp.
"""

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

MAX_DEPTH = 32  # our deepest schema (health) nests 4 levels; 32 leaves room for growth
SAFE_INT = 2**53 - 1  # JSON's exactly-representable range; far inside SQLite's int64
# The wire's timestamp shape (docs/schemas: "time"). A string of exactly this shape that
# is not a real UTC date (month 13, hour 25, Feb 30, year 0000) is refused wherever it
# appears: nothing legitimate looks like a timestamp and is not one.
TIME_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")
MIN_YEAR = 1970  # epoch seconds are stored; nothing of ours predates them
MAX_YEAR = 2999  # 9999-12-31 overflows datetime once shifted to a local zone (day rollups)


class BadJson(ValueError):
    """Bytes that are not one bounded, finite, UTF-8 JSON document."""


def _no_constants(name: str) -> Any:
    raise BadJson(f"{name} is not a number JSON allows")


def check_time(text: str) -> float:
    """A wire timestamp -> epoch seconds; BadJson when it is not a real UTC date."""
    try:
        value = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadJson(f"{text[:40]!r} is not a real date and time") from exc
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadJson(f"{text[:40]!r} is not between {MIN_YEAR} and {MAX_YEAR}")
    return value.timestamp()


def check_tree(obj: Any, max_depth: int = MAX_DEPTH) -> None:
    """Depth, number ranges and timestamps of an already parsed document (iterative, so a
    deep document cannot overflow the stack here either)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    seen_times: set[str] = set()
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise BadJson(f"nested deeper than {max_depth} levels")
        values = node.values() if isinstance(node, dict) else node
        for value in values:
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1))
            elif isinstance(value, str):
                if (len(value) >= 20 and value[-1] == "Z" and value not in seen_times
                        and TIME_SHAPE.fullmatch(value)):
                    check_time(value)
                    seen_times.add(value)
            elif isinstance(value, bool):
                continue
            elif isinstance(value, int):
                if not -SAFE_INT <= value <= SAFE_INT:
                    raise BadJson(f"integer {str(value)[:24]}... is beyond +-{SAFE_INT}")
            elif isinstance(value, float) and not math.isfinite(value):
                raise BadJson("a number overflows to infinity")


def loads(payload: bytes | str, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse one JSON document from outside; BadJson (a ValueError) on anything unsafe."""
    if len(payload) > max_bytes:
        raise BadJson(f"{len(payload)} bytes exceeds the limit of {max_bytes}")
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")  # strict: UTF-16/32 are refused, not guessed
        except UnicodeDecodeError as exc:
            raise BadJson(f"not UTF-8: {exc.reason} at byte {exc.start}") from exc
    if payload.startswith("\ufeff"):
        raise BadJson("starts with a byte-order mark; expected plain UTF-8")
    try:
        obj = json.loads(payload, parse_constant=_no_constants)
    except BadJson:
        raise
    except json.JSONDecodeError as exc:
        raise BadJson(f"not JSON: {exc}") from exc
    except RecursionError as exc:
        raise BadJson(f"nested deeper than {max_depth} levels") from exc
    except ValueError as exc:  # int(): more digits than sys.get_int_max_str_digits()
        raise BadJson(f"not JSON: {str(exc)[:120]}") from exc
    if isinstance(obj, (dict, list)):
        check_tree(obj, max_depth)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        check_tree([obj], max_depth)
    return obj
