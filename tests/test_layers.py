"""Layers, enforced (in the spirit of Home Assistant's hassfest): which top-level package may
import which, and no import cycles between modules. docs/DEVELOPING.md draws the same arrows.

Every import counts: at module level, inside functions (lazy imports of heavy libraries), and
under `if TYPE_CHECKING:`. A new top-level package must be added to ALLOWED.
"""

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# package -> the first-party packages it may import (the standard library and third-party
# libraries are not policed here; heavy ones stay inside handlers, see test_cli_docs).
ALLOWED: dict[str, frozenset[str]] = {
    "walkway": frozenset(),  # the core: config primitives, records, files, notify, clocks
    "sensors": frozenset({"walkway"}),
    "provisioning": frozenset({"walkway"}),
    "edge": frozenset({"walkway", "sensors", "provisioning"}),
    "cloud_bridge": frozenset({"walkway", "edge", "provisioning"}),
    "signage_player": frozenset({"walkway", "edge"}),
    # The simulator seeds the city dashboard with simulated history and starts it on a run.
    "simulator": frozenset({"walkway", "edge", "sensors", "cloud_bridge", "city"}),
    # The city's side: collector storage and the place model in the core.
    "city": frozenset({"walkway", "cloud_bridge"}),
    # Benchmarks drive whole wings; nothing imports them.
    "bench": frozenset({"walkway", "edge", "sensors", "provisioning", "cloud_bridge",
                        "signage_player", "simulator", "city"}),
}


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    module: str  # the importing module, dotted
    target: str  # the imported module (or module.name for `from m import name`)
    is_name: bool = False  # a `from m import name` entry (name may be a module or not)

    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imports_of(path: Path) -> Iterator[Import]:
    """Every import statement in the file, wherever it is (ast.walk visits function bodies
    and `if TYPE_CHECKING:` blocks too)."""
    module = module_name(path)
    package_parts = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, module, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            yield Import(path, node.lineno, module, source)
            for alias in node.names:
                yield Import(path, node.lineno, module, f"{source}.{alias.name}", True)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for package in ALLOWED for p in python_files(package)}


def layer_violations() -> list[str]:
    problems = []
    for package, allowed in ALLOWED.items():
        for path in python_files(package):
            for imp in imports_of(path):
                if imp.is_name:
                    continue  # same package as its statement's module
                target = imp.target.split(".")[0]
                if target in ALLOWED and target != package and target not in allowed:
                    names = ", ".join(sorted(allowed)) or "none (the core imports no wing)"
                    problems.append(f"{imp.where()}: package {package} may not import "
                                    f"{imp.target} (allowed: {names})")
    return sorted(set(problems))


def test_every_package_imports_only_along_the_allowed_arrows() -> None:
    problems = layer_violations()
    assert not problems, "\n".join(problems)


def test_every_top_level_package_is_in_the_allow_list() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages <= set(ALLOWED), f"add to ALLOWED: {sorted(packages - set(ALLOWED))}"
    assert packages >= set(ALLOWED), f"gone from the tree: {sorted(set(ALLOWED) - packages)}"


def module_graph() -> dict[str, dict[str, Import]]:
    """module -> {imported first-party module: the first import statement naming it}."""
    modules = all_modules()
    graph: dict[str, dict[str, Import]] = {m: {} for m in modules}
    for module, path in modules.items():
        for imp in imports_of(path):
            # `from pkg import mod` names a module; `from mod import name` names its module.
            for candidate in (imp.target, imp.target.rpartition(".")[0]):
                if candidate in modules and candidate != module:
                    graph[module].setdefault(candidate, imp)
                    break
    return graph


def cycles(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            child = next(edges, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_between_modules() -> None:
    graph = module_graph()
    problems = []
    for component in cycles(graph):
        members = set(component)
        edges = [imp for m in component for t, imp in graph[m].items() if t in members]
        problems.append("import cycle: " + " <-> ".join(component) + "\n" + "\n".join(
            f"  {imp.where()}: {imp.module} imports {imp.target}" for imp in edges))
    assert not problems, "\n".join(problems)


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The cycle test could fail: a two-module loop and a three-module loop are found."""
    fake = Import(ROOT / "walkway" / "__init__.py", 1, "a", "b")
    graph = {"a": {"b": fake}, "b": {"a": fake}, "c": {"d": fake}, "d": {"e": fake},
             "e": {"c": fake}, "f": {"a": fake}}
    assert sorted(cycles(graph)) == [["a", "b"], ["c", "d", "e"]]


def test_config_sections_named_by_string_stay_light() -> None:
    """edge.config loads optional sections by module name (EXTRA_SECTIONS), so reading a
    node config must not pull a wing's machinery: a section module imports only the core
    and light modules of its own package."""
    from edge.config import EXTRA_SECTIONS

    graph = module_graph()
    for section, module in EXTRA_SECTIONS.items():
        importlib.import_module(module)  # the name is real
        own = module.split(".")[0]
        seen, todo = set(), [module]
        while todo:
            current = todo.pop()
            for target, imp in graph[current].items():
                top = target.split(".")[0]
                assert top in ("walkway", own), (
                    f"{imp.where()}: [{section}] section module {module} reaches {target}")
                if target not in seen:
                    seen.add(target)
                    todo.append(target)


def test_developing_md_lists_the_same_arrows() -> None:
    """docs/DEVELOPING.md's "may import" table is the allow-list, word for word."""
    import re

    text = (ROOT / "docs" / "DEVELOPING.md").read_text("utf-8")
    documented = {}
    for package, cell in re.findall(r"^\| `(\w+)` \| (.+?) \|$", text, re.M):
        if package in ALLOWED:
            documented[package] = set(re.findall(r"`(\w+)`", cell))
    expected = {p: set(a) for p, a in ALLOWED.items()}
    expected["bench"] = set()  # documented as "everything"
    assert documented == expected


def test_only_the_store_touches_its_connection() -> None:
    """edge.store.Store keeps its SQLite connection private: other modules call its named
    methods (a `store.conn` reach-in is how commands once bypassed the store's rules)."""
    problems = []
    for package in ALLOWED:
        for path in python_files(package):
            if path in (ROOT / "edge" / "store.py", ROOT / "edge" / "store_reads.py"):
                continue
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if (isinstance(node, ast.Attribute) and node.attr in ("conn", "_conn")
                        and "store" in ast.unparse(node.value).lower()
                        and "storage" not in ast.unparse(node.value).lower()):
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                                    f"{ast.unparse(node)}")
    assert not problems, "\n".join(problems)
