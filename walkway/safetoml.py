"""Parse TOML from outside (a config sent by set-config, a scenario file) without crashing.

`tomllib` raises TOMLDecodeError for bad syntax, but also a bare ValueError for an integer
longer than sys.get_int_max_str_digits (4300) and RecursionError for arrays nested about a
thousand deep (issue 18, found by tests/test_fuzz.py). `loads` makes all three one BadToml.
"""

import tomllib
from typing import Any


class BadToml(ValueError):
    """Text that is not a TOML document we can read."""


def loads(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError as exc:
        raise BadToml("nested too deeply") from exc
    except ValueError as exc:  # TOMLDecodeError, and int() beyond the digit limit
        raise BadToml(str(exc)[:200]) from exc
