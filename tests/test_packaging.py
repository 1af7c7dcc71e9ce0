"""Extras by role: the CLI's library -> extra table agrees with pyproject.toml."""

import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from walkway.cli import MISSING_EXTRA

ROOT = Path(__file__).resolve().parents[1]


def extras() -> dict[str, set[str]]:
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    out = {}
    for extra, requirements in table["optional-dependencies"].items():
        out[extra] = {re.split(r"[<>=;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}
    out[""] = {re.split(r"[<>=;\[ ]", r, maxsplit=1)[0].lower() for r in table["dependencies"]}
    return out


def test_each_lazily_imported_library_is_installed_by_the_extra_the_cli_names() -> None:
    declared = extras()
    providers = packages_distributions()  # dev installs every extra, so all are present
    for module, extra in MISSING_EXTRA.items():
        dists = {d.lower() for d in providers[module]}
        assert dists & declared[extra], f"{module} ({dists}) is not in the {extra!r} extra"


def test_base_dependencies_carry_no_camera_screen_or_plotting_library() -> None:
    base = extras()[""]
    for heavy in ("opencv-contrib-python-headless", "numpy", "pygame-ce", "matplotlib",
                  "balena-sdk", "bleak", "pyserial", "sqlite-utils"):
        assert heavy not in base
