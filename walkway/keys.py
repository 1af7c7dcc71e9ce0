"""Config keys declared once (ESPHome-style): name, type, default, range and help in one place.

A section or source type declares its keys as a `KeySpec`; the same spec gives

- the validator: `table.read(SPEC["min_area"])` (walkway.config_table.ConfigTable),
- the dataclass defaults: `min_area: float = SPEC.default("min_area")`,
- CLI flags that mirror config keys: `SPEC["min_area"].flag_kwargs()` for argparse, and
  `SPEC["min_area"].check(value, "--min-area")` for their range,
- the docs tables: `SPEC.markdown()`, which tests/test_config_docs.py compares with the
  table between `<!-- keys MODULE:NAME -->` and `<!-- /keys -->` in docs/*.md.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from walkway.errors import UsageError


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
KINDS = ("text", "integer", "number", "flag", "path", "list", "table")


@dataclass(frozen=True)
class Key:
    """One config key. `kind` "list"/"table" keys are read by their section's own code
    (their shape needs more than a range), but are declared here for defaults and docs."""

    name: str
    kind: str
    default: Any = REQUIRED
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    what: str | None = None  # how a text/path value is described in problems
    must_exist: bool = False  # path: the file must exist

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} not in {KINDS}")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def range_text(self) -> str:
        if self.choices:
            return "one of " + ", ".join(f"`{c}`" for c in self.choices)
        lo = "" if self.min is None else f"{self.min:g}"
        hi = "" if self.max is None else f"{self.max:g}"
        if lo and hi:
            return f"{lo}..{hi}"
        if lo:
            return f">= {lo}"
        return f"<= {hi}" if hi else ""

    def check(self, value: Any, flag: str) -> Any:
        """A CLI flag mirroring this key: the same range, as a UsageError naming the flag."""
        if self.choices is not None and value not in self.choices:
            raise UsageError(f"{flag} {value!r}: expected {self.range_text()}")
        if isinstance(value, int | float) and not isinstance(value, bool) and (
                (self.min is not None and value < self.min)
                or (self.max is not None and value > self.max)):
            raise UsageError(f"{flag} {value}: expected a number in {self.range_text()}")
        return value

    def flag_kwargs(self) -> dict[str, Any]:
        """argparse keyword arguments for a flag mirroring this key (type, default, help)."""
        text = f"{self.help} (default {format_value(self.default)})".replace("`", "")
        kwargs: dict[str, Any] = {"help": text}
        if self.kind in ("integer", "number"):
            kwargs["type"] = int if self.kind == "integer" else float
        if self.choices is not None:
            kwargs["choices"] = self.choices
        if not self.required:
            kwargs["default"] = self.default
        return kwargs


def format_value(value: Any) -> str:
    """A default as the docs show it (TOML spelling)."""
    if value is REQUIRED:
        return "(required)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(format_value(v).strip("`") for v in value) + "]`"
    return f"`{value}`"


class KeySpec:
    """The keys of one TOML table (a section, or one source type's `[[sources]]` entry)."""

    def __init__(self, table: str, keys: Iterable[Key]) -> None:
        self.table = table
        self._keys: dict[str, Key] = {}
        for key in keys:
            if key.name in self._keys:
                raise ValueError(f"{table}: key {key.name} declared twice")
            self._keys[key.name] = key

    def __getitem__(self, name: str) -> Key:
        return self._keys[name]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys.values())

    def __contains__(self, name: str) -> bool:
        return name in self._keys

    def default(self, name: str) -> Any:
        value = self._keys[name].default
        if value is REQUIRED:
            raise KeyError(f"{self.table}.{name} is required: it has no default")
        return value

    def __add__(self, other: "KeySpec") -> "KeySpec":
        return KeySpec(self.table, [*self, *other])

    def markdown(self) -> str:
        """The docs table: key, default, range, meaning."""
        rows = ["| key | default | range | meaning |", "|---|---|---|---|"]
        for key in self:
            rows.append(f"| `{key.name}` | {format_value(key.default)} | {key.range_text()} "
                        f"| {key.help} |")
        return "\n".join(rows) + "\n"
