"""Typed reading of one TOML table that records every problem instead of stopping at the first.

Each problem is one line: `FILE: KEY: expected WHAT, got VALUE`.
"""

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from walkway.keys import Key

_MISSING: Any = object()


class ConfigTable:
    """A view on one TOML table (`prefix` is its dotted name, e.g. `sources[0]`)."""

    def __init__(
        self, file: Path, prefix: str, data: dict[str, Any], problems: list[str]
    ) -> None:
        self.file = file
        self.prefix = prefix
        self.data = data
        self.problems = problems
        self._seen: set[str] = set()

    @property
    def base_dir(self) -> Path:
        return self.file.parent

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def problem(self, name: str, expected: str, got: Any = _MISSING) -> None:
        text = f"{self.file}: {self.key(name)}: expected {expected}"
        if got is not _MISSING:
            text += f", got {got!r}"
        self.problems.append(text)

    def _get(self, name: str, default: Any) -> Any:
        self._seen.add(name)
        if name in self.data:
            return self.data[name]
        return default

    def has(self, name: str) -> bool:
        return name in self.data

    def text(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        pattern: str | None = None,
        choices: Iterable[str] | None = None,
        what: str = "a string",
    ) -> Any:
        value = self._get(name, default)
        if value is _MISSING:
            self.problem(name, f"{what} (required)")
            return None
        if value is None and default is None:
            return None
        if not isinstance(value, str):
            self.problem(name, what, value)
            return default if default is not _MISSING else None
        if pattern is not None and not re.fullmatch(pattern, value):
            self.problem(name, f"{what} matching {pattern}", value)
        if choices is not None:
            options = list(choices)
            if value not in options:
                self.problem(name, "one of " + ", ".join(options), value)
        return value

    def number(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        integer: bool = False,
        min: float | None = None,
        max: float | None = None,
    ) -> Any:
        value = self._get(name, default)
        kind = "an integer" if integer else "a number"
        if value is _MISSING:
            self.problem(name, f"{kind} (required)")
            return None
        if value is None and default is None:
            return None
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            self.problem(name, kind, value)
            return default if default is not _MISSING else None
        if (min is not None and value < min) or (max is not None and value > max):
            lo = "" if min is None else f" >= {min}"
            hi = "" if max is None else f" <= {max}"
            self.problem(name, f"{kind}{lo}{' and' if lo and hi else ''}{hi}", value)
        return value

    def integer(self, name: str, default: Any = _MISSING, **limits: float) -> Any:
        return self.number(name, default, integer=True, **limits)

    def flag(self, name: str, default: Any = _MISSING) -> Any:
        value = self._get(name, default)
        if value is _MISSING:
            self.problem(name, "true or false (required)")
            return None
        if not isinstance(value, bool):
            self.problem(name, "true or false", value)
            return bool(default) if default is not _MISSING else False
        return value

    def path(self, name: str, default: Any = _MISSING, *, must_exist: bool = False) -> Any:
        """A path; relative paths are relative to the config file's folder."""
        value = self.text(name, default, what="a path")
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = (self.base_dir / path).resolve()
        if must_exist and not path.exists():
            self.problem(name, "an existing file", str(path))
        return path

    def array(self, name: str, default: Any = _MISSING, *, what: str = "a list") -> Any:
        value = self._get(name, default)
        if value is _MISSING:
            self.problem(name, f"{what} (required)")
            return []
        if not isinstance(value, list):
            self.problem(name, what, value)
            return []
        return value

    def table(self, name: str, *, required: bool = False) -> "ConfigTable":
        value = self._get(name, _MISSING)
        if value is _MISSING:
            if required:
                self.problem(name, "a table (required)")
            value = {}
        elif not isinstance(value, dict):
            self.problem(name, "a table", value)
            value = {}
        return ConfigTable(self.file, self.key(name), value, self.problems)

    def tables(self, name: str) -> list["ConfigTable"]:
        value = self._get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(name, "an array of tables ([[" + self.key(name) + "]])", value)
            return []
        return [
            ConfigTable(self.file, f"{self.key(name)}[{i}]", item, self.problems)
            for i, item in enumerate(value)
        ]

    def read(self, key: Key) -> Any:
        """Read a declared key (walkway.keys): its type, default, range and pattern."""
        default = _MISSING if key.required else key.default
        if key.kind == "text":
            return self.text(key.name, default, pattern=key.pattern, choices=key.choices,
                             what=key.what or "a string")
        if key.kind in ("integer", "number"):
            return self.number(key.name, default, integer=key.kind == "integer",
                               min=key.min, max=key.max)
        if key.kind == "flag":
            return self.flag(key.name, default)
        if key.kind == "path":
            return self.path(key.name, default, must_exist=key.must_exist)
        if key.kind == "list":
            return self.array(key.name, list(default) if isinstance(default, tuple) else default,
                              what=key.what or "a list")
        raise ValueError(f"{key.name}: a {key.kind} key is read by its section's code")

    def finish(self) -> None:
        """Report keys nobody read: almost always a typo."""
        for name in sorted(set(self.data) - self._seen):
            known = ", ".join(sorted(self._seen)) or "none"
            self.problems.append(
                f"{self.file}: {self.key(name)}: unknown key; expected one of: {known}"
            )
