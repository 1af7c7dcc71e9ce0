"""Problems in a content source folder: every one collected, one line each, with file, line
and field, so an editor fixes them all in one pass."""

import re
from dataclasses import dataclass, field
from pathlib import Path

from walkway.errors import InputFileError


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int  # 1-based; 0 when the problem is about the whole file
    field: str
    expected: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.field}: {self.expected}" if self.field else \
            f"{where}: {self.expected}"


class ContentSourceError(InputFileError):
    """A content source folder has problems; the message has one line per problem."""


@dataclass
class Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, file: Path, line: int, fld: str, expected: str) -> None:
        self.items.append(Problem(Path(file), line, fld, expected[:300]))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ContentSourceError("\n".join(str(p) for p in self.items))


def key_line(text: str, key: str) -> int:
    """The line where a TOML key (`key =` or `[key]`/`[[key]]`) is first set; 0 if not found."""
    name = re.escape(key.split(".")[-1].split("[")[0])
    pattern = re.compile(rf'^\s*(\[\[?\s*)?"?{name}"?\s*(=|\]|\.)', re.M)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else 0


def text_line(text: str, needle: str) -> int:
    """The line holding `needle` (e.g. a text that does not fit); 0 if not found."""
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else 0
