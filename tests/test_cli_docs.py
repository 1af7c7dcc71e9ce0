"""Every `walkway` command has help text and is documented in README.md or docs/*.md."""

import argparse
from pathlib import Path

from walkway.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                path = (*prefix, name)
                yield path, helps.get(name)
                yield from command_paths(sub, path)


def test_every_command_has_help_and_docs():
    docs = (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))
    )
    paths = list(command_paths(build_parser()))
    assert len(paths) >= 4
    missing_help = [" ".join(p) for p, h in paths if not h]
    assert not missing_help, f"commands without help text: {missing_help}"
    undocumented = [" ".join(p) for p, _ in paths if f"walkway {' '.join(p)}" not in docs]
    assert not undocumented, f"commands missing from README.md/docs: {undocumented}"
