"""Every `walkway ...` command line in README.md and docs/*.md parses with the real parser,
so the docs cannot drift from the CLI. Synopses are checked too: UPPERCASE placeholders get
a sample value, and each optional [group] is parsed with the required part."""

import re
import shlex
from pathlib import Path

import pytest

from walkway.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"```(?:sh|bash|shell|console)?\n(.*?)```", re.S)
COMMAND = re.compile(r"^(?:\$ )?(?:[A-Z_]+=\S+ )*(?:\./run )?walkway( .*)?$")
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z0-9_]*(?:[=,][A-Z0-9_,=]+)*\b")


def _strip(line: str) -> str:
    line = re.split(r"\s+#\s", line)[0]  # a trailing comment
    line = re.split(r"\s(?:\||>|2>|&&|;)\s", line)[0]  # pipes, redirections, chains
    return line.strip()


def command_lines() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text("utf-8")
        for block in SHELL_BLOCK.findall(text):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.strip()
                if COMMAND.match(line) and "-->" not in line and "->" not in line:
                    found.append((doc.name, _strip(line)))
    return found


def _sample(args: str) -> str:
    # FILE -> x, N -> 1, "csv|json" -> csv; "..." (more of the same) dropped.
    args = re.sub(r"(\w+)\|[\w|]+", r"\1", args).replace("...", "")
    return PLACEHOLDER.sub(lambda m: "1" if m.group(0) in ("N", "M", "S", "X") else "x", args)


def variants(line: str) -> list[list[str]]:
    """The command without its [optional] groups, then with each one in turn."""
    body = re.sub(r"^.*?walkway ", "", line)
    groups = re.findall(r"\[([^\[\]]*)\]", body)
    required = re.sub(r"\s*\[[^\[\]]*\]", "", body)
    out = [shlex.split(_sample(required))]
    # "[--line ...]" (the option again) adds nothing to check.
    out += [shlex.split(_sample(f"{required} {g}")) for g in groups if "..." not in g]
    return out


LINES = command_lines()


def test_the_docs_show_commands() -> None:
    assert len(LINES) >= 20, LINES
    assert any(line.startswith("./run walkway ") for _, line in LINES), \
        "the docs never show how to get the command (./run walkway ...)"


@pytest.mark.parametrize(("doc", "line"), LINES, ids=[f"{d}:{x[:60]}" for d, x in LINES])
def test_documented_command_parses(doc: str, line: str) -> None:
    parser = build_parser()
    for argv in variants(line):
        if not argv or argv[0].startswith("-") and argv[0] not in ("--version", "--help"):
            continue
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise AssertionError(f"{doc}: `{line}` does not parse as {argv}") from None


def test_run_walkway_runs_the_command_from_the_callers_directory(tmp_path: Path) -> None:
    import subprocess

    (tmp_path / "node.toml").write_text('[node]\nid = "n1"\nsite = "s1"\n[store]\n'
                                        'path = "edge.db"\n[mqtt]\nurl = "mqtt://h:1"\n')
    done = subprocess.run([str(ROOT / "run"), "walkway", "config", "validate", "node.toml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr  # node.toml found in the caller's directory
    (tmp_path / "node.toml").write_text("[node]\n")
    done = subprocess.run([str(ROOT / "run"), "walkway", "config", "validate", "node.toml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "node.toml" in done.stderr
