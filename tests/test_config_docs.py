"""Each config key is declared once (walkway/keys.py) and the docs say what the code does.

In docs/*.md:
- `<!-- keys MODULE:NAME -->` ... `<!-- /keys -->` holds a table generated from that KeySpec;
  it must equal `spec.markdown()` (WALKWAY_UPDATE_DOCS=1 rewrites it).
- `<!-- keys-toml TABLE=MODULE:NAME ... -->` right before a ```toml example: every key of
  the mapped TOML table must be declared in that spec, and any value shown for a key with a
  default must be that default (required and optional-without-default keys show examples).
  `.=MODULE:NAME` maps the block's top level; `[[sources]]` tables skip `type` and `name`.
- Every key declared in a literal `KeySpec(...)` in the code is documented somewhere.
And CLI flag tables in command sections state the defaults argparse really uses.
"""

import ast
import importlib
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from walkway.keys import REQUIRED, Key, KeySpec

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
GENERATED = re.compile(r"<!-- keys ([\w.]+:\w+) -->\n(.*?)<!-- /keys -->", re.S)
CHECKED = re.compile(r"<!-- keys-toml ([^>]*?) -->\n```toml\n(.*?)```", re.S)
PACKAGES = ("walkway", "edge", "sensors", "cloud_bridge", "signage_player", "provisioning",
            "simulator")


def spec(ref: str) -> KeySpec:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def test_generated_key_tables_match_the_code() -> None:
    stale = []
    for doc in DOCS:
        text = doc.read_text("utf-8")
        fresh = GENERATED.sub(lambda m: f"<!-- keys {m[1]} -->\n{spec(m[1]).markdown()}"
                              "<!-- /keys -->", text)
        if fresh != text:
            if os.environ.get("WALKWAY_UPDATE_DOCS"):
                doc.write_text(fresh, "utf-8")
            else:
                stale.append(doc.name)
    assert not stale, (f"key tables in {stale} differ from the code; regenerate with "
                       "WALKWAY_UPDATE_DOCS=1 pytest tests/test_config_docs.py")


def checked_blocks() -> list[tuple[Path, str, dict[str, KeySpec]]]:
    out = []
    for doc in DOCS:
        for mapping, body in CHECKED.findall(doc.read_text("utf-8")):
            specs = dict(item.split("=", 1) for item in mapping.split())
            out.append((doc, body, {table: spec(ref) for table, ref in specs.items()}))
    return out


def toml_tables(data: dict[str, Any], table: str) -> list[dict[str, Any]]:
    if table == ".":
        return [{k: v for k, v in data.items() if not isinstance(v, dict | list)
                 or (isinstance(v, list) and not all(isinstance(x, dict) for x in v))}]
    value = data.get(table)
    if isinstance(value, list):
        return [{k: v for k, v in t.items() if k not in ("type", "name")} for t in value]
    return [value] if isinstance(value, dict) else []


def test_documented_toml_examples_show_the_code_defaults() -> None:
    problems = []
    assert checked_blocks(), "no <!-- keys-toml --> blocks found"
    for doc, body, specs in checked_blocks():
        data = tomllib.loads(body)
        for table, keys in specs.items():
            tables = toml_tables(data, table)
            assert tables, f"{doc.name}: no [{table}] in the block after its marker"
            for values in tables:
                for name, value in values.items():
                    if isinstance(value, dict) or (isinstance(value, list) and value
                                                   and all(isinstance(v, dict) for v in value)):
                        continue  # a sub-table ([[sources.lines]]) is documented in prose
                    if name not in keys:
                        problems.append(f"{doc.name}: [{table}] {name}: not a declared key")
                        continue
                    default = keys[name].default
                    if default is not REQUIRED and default is not None and not same(value,
                                                                                    default):
                        problems.append(f"{doc.name}: [{table}] {name} = {value!r}, but the "
                                        f"default is {default!r}")
    assert not problems, "\n".join(problems)


def declared_specs() -> list[str]:
    """MODULE:NAME of every module-level `NAME = KeySpec(...)` in the packages."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text("utf-8"))
            for node in tree.body:
                if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                        and getattr(node.value.func, "id", None) == "KeySpec"):
                    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                    found.extend(f"{module}:{t.id}" for t in node.targets)
    return found


def test_every_declared_key_is_documented() -> None:
    documented: set[int] = set()
    for doc in DOCS:
        for ref, _table in GENERATED.findall(doc.read_text("utf-8")):
            documented.update(id(k) for k in spec(ref))
    for _doc, body, specs in checked_blocks():
        data = tomllib.loads(body)
        for table, keys in specs.items():
            names = {n for t in toml_tables(data, table) for n in t}
            documented.update(id(k) for k in keys if k.name in names)
    refs = declared_specs()
    assert len(refs) >= 12, refs
    missing = [f"{ref} {key.name}" for ref in refs for key in spec(ref)
               if id(key) not in documented]
    assert not missing, "undocumented config keys:\n" + "\n".join(missing)


def test_a_key_table_and_a_flag_come_from_one_declaration() -> None:
    from sensors.camera.options import PIPELINE_KEYS, PipelineOptions

    key = PIPELINE_KEYS["var_threshold"]
    assert isinstance(key, Key) and PipelineOptions().var_threshold == key.default == 25.0
    assert f"| `var_threshold` | `{key.default:g}` |" in (ROOT / "docs" / "camera.md").read_text()


# -- CLI flags -------------------------------------------------------------------------
def documented_flag_defaults(text: str) -> list[tuple[str, str]]:
    """(flag, default text) for flag-table rows that state a default: a `default` column,
    or "(default X)" / "`X` (default)" in the meaning."""
    out = []
    header: list[str] = []
    for line in text.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if not header:
            header = [c.lower() for c in cells]
            continue
        flag = re.match(r"`(--[a-z-]+)", cells[0])
        if flag is None:
            continue
        if len(header) > 2 and header[1] == "default":
            out.append((flag[1], cells[1].strip("`")))
            continue
        meaning = " | ".join(cells[1:])
        m = re.search(r"\(default:? `?([^`),]+)`?\)", meaning) or re.search(
            r"`([^`]+)` \(default\)", meaning)
        if m:
            out.append((flag[1], m.group(1).strip()))
    return out


def parser_defaults() -> dict[str, dict[str, Any]]:
    """command path ('count-video', 'signage run') -> {flag: default}."""
    import argparse

    from walkway.cli import build_parser

    out: dict[str, dict[str, Any]] = {}

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        flags = {}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}".strip())
            for option in action.option_strings:
                flags[option] = action.default
        out[path] = flags

    walk(build_parser(), "")
    return out


def test_documented_flag_defaults_are_the_parsers() -> None:
    defaults = parser_defaults()
    problems, checked = [], 0
    for doc in DOCS:
        sections = re.split(r"^#+ `walkway ([a-z -]+?)(?: [A-Z[<-].*)?`$", doc.read_text(),
                            flags=re.M)
        for command, body in zip(sections[1::2], sections[2::2], strict=True):
            flags = defaults.get(command.strip())
            if flags is None:
                continue
            for flag, text in documented_flag_defaults(body):
                if flag not in flags:
                    continue
                value = flags[flag]
                if value is None or isinstance(value, bool):
                    continue  # "(default: generated)": described, not a value
                checked += 1
                shown = f"{value:g}" if isinstance(value, float) else str(value)
                if text != shown and text.split()[0].rstrip(";,") != shown:
                    problems.append(f"{doc.name}: walkway {command} {flag}: docs say default "
                                    f"{text!r}, the parser uses {value!r}")
    assert checked >= 8, checked
    assert not problems, "\n".join(problems)
