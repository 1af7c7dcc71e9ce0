"""Small, specific exceptions. Each message says what was wrong and what was expected.

`walkway.cli.main` is the one boundary that turns a `WalkwayError` into a one-line
message on stderr and exit status 2.
"""


class WalkwayError(Exception):
    """Base class: a problem the user or crew can fix; printed as one line, exit 2."""

    exit_code = 2


class ConfigError(WalkwayError):
    """A config file is missing, unreadable or invalid. Holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class UsageError(WalkwayError):
    """A command-line argument is malformed (e.g. a bad --line spec)."""


class InputFileError(WalkwayError):
    """An input file (video, CSV, content package) is missing or unreadable."""


class StoreError(WalkwayError):
    """The edge store cannot be opened or written."""
