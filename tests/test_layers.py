"""The packages of ``infra_mind`` import one way: down the layers of docs/architecture.md.

Read from the source (``ast``), so every import counts: at module level, inside a
function, under ``if TYPE_CHECKING:``. An import inside a function is how a cycle
hides: Python runs it, but only later, so nothing fails at import time while two
packages still cannot be understood or changed apart. Two checks:

- no cycle between top-level packages (``engine``, ``catalog``, ``config``, ...);
- the rules of the layers: the engine is pure, the catalog is below the engine, a
  service never sees HTTP, a query never calls a use case, the agents never see HTTP,
  and only the command line uses ``ops`` (the operator's tasks, at the top).

The checker itself is tested on a small made-up tree, so it cannot pass by being blind.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "infra_mind"
#: The root package's own name: a package that imports the root (``from infra_mind import
#: assess``) depends on the facade above everything. ``__version__``, the one plain value
#: the root defines, is read by the low layers and is no dependency.
ROOT_NODE = "infra_mind"
ROOT_VALUES = {"__version__"}

#: What each package must never import (counting function-level and type-only imports).
FORBIDDEN: dict[str, set[str]] = {
    # pure: requirements, sizing, prices from the catalog; nothing of the running service
    "engine": {
        "api",
        "services",
        "repositories",
        "worker",
        "ops",
        "models",
        "agents",
        "chat",
        "reports",
        "cli",
        "config",
        "kit",
        "observability",
        "knowledge",
        "migrations",
        ROOT_NODE,
    },
    "catalog": {"engine"},
    "services": {"api"},
    "repositories": {"services"},
    "agents": {"api"},
}
#: ``ops`` (the operator's tasks) uses the rest; only the command line uses it.
OPS_USERS = {"cli", "ops"}


@dataclass(frozen=True)
class Import:
    """One import statement: where it is, and the top-level package it reaches."""

    source: str  # the importing package
    target: str  # the imported package
    where: str  # file:line

    def __str__(self) -> str:
        return f"{self.where}: {self.source} -> {self.target}"


def _module_name(path: Path, src: Path) -> list[str]:
    parts = list(path.relative_to(src).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _package_of(module: list[str]) -> str:
    """``["infra_mind", "engine", "load"]`` -> ``engine``; the root itself -> ROOT_NODE."""
    return module[1] if len(module) > 1 else ROOT_NODE


def _imported(
    node: ast.Import | ast.ImportFrom, module: list[str], is_package: bool
) -> Iterator[tuple[list[str], list[str]]]:
    """(module path, names taken from it) of each thing ``node`` imports."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name.split("."), []
        return
    base: list[str] = []
    if node.level:
        here = module if is_package else module[:-1]
        base = here[: len(here) - node.level + 1]
    base = base + (node.module.split(".") if node.module else [])
    yield base, [alias.name for alias in node.names]


def imports(src: Path = SRC, root: str = ROOT) -> list[Import]:
    """Every import from one top-level package of ``root`` into another."""
    found: list[Import] = []
    for path in sorted((src / root).rglob("*.py")):
        module = _module_name(path, src)
        source = _package_of(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target_module, names in _imported(node, module, path.name == "__init__.py"):
                if not target_module or target_module[0] != root:
                    continue
                if len(target_module) == 1:  # from infra_mind import X
                    targets = {
                        n
                        if (src / root / n).is_dir() or (src / root / f"{n}.py").is_file()
                        else ROOT_NODE
                        for n in names
                        if n not in ROOT_VALUES
                    }
                else:
                    targets = {_package_of(target_module)}
                where = f"{path.relative_to(src)}:{node.lineno}"
                found += [Import(source, t, where) for t in sorted(targets) if t != source]
    return found


def cycles(found: list[Import]) -> list[list[Import]]:
    """One cycle (as the imports that make it) per group of packages that reach each
    other; empty when the packages form layers."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in found:
        edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    out: list[list[Import]] = []
    seen: set[frozenset[str]] = set()
    for start in sorted(edges):
        path = _path_back(edges, start)
        if path is not None:
            group = frozenset(i.source for i in path)
            if group not in seen:
                seen.add(group)
                out.append(path)
    return out


def _path_back(edges: Mapping[str, Mapping[str, Import]], start: str) -> list[Import] | None:
    """The shortest chain of imports from ``start`` back to itself (breadth first)."""
    queue: list[tuple[str, list[Import]]] = [(start, [])]
    visited = {start}
    while queue:
        node, chain = queue.pop(0)
        for target, imp in sorted(edges.get(node, {}).items()):
            if target == start:
                return [*chain, imp]
            if target not in visited:
                visited.add(target)
                queue.append((target, [*chain, imp]))
    return None


def forbidden(found: list[Import]) -> list[Import]:
    """The imports the layer rules refuse."""
    return [
        imp
        for imp in found
        if imp.target in FORBIDDEN.get(imp.source, set())
        or (imp.target == "ops" and imp.source not in OPS_USERS)
    ]


def _show(items: list[Import] | list[list[Import]]) -> str:
    return "\n".join(" ; ".join(map(str, i)) if isinstance(i, list) else str(i) for i in items)


def test_no_cycle_between_packages():
    found = cycles(imports())
    if found:
        pytest.fail("packages that import each other (each line one cycle):\n" + _show(found))


def test_no_import_against_the_layers():
    found = forbidden(imports())
    if found:
        pytest.fail("imports against the layers (docs/architecture.md):\n" + _show(found))


# --- the checker, on a made-up tree -----------------------------------------------------


def _tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_checker_sees_a_cycle_hidden_in_a_function(tmp_path):
    src = _tree(
        tmp_path,
        {
            "__init__.py": "__version__ = '1'\n",
            "low/__init__.py": "",
            "low/a.py": "def f():\n    from pkg.high.b import g\n    return g\n",
            "high/__init__.py": "",
            "high/b.py": "from ..low import a\nfrom pkg import __version__\n",
        },
    )
    found = imports(src, "pkg")
    assert {(i.source, i.target) for i in found} == {("low", "high"), ("high", "low")}
    (cycle,) = cycles(found)
    assert {i.where for i in cycle} == {"pkg/low/a.py:2", "pkg/high/b.py:1"}


def test_the_checker_sees_type_only_and_forbidden_imports(tmp_path):
    src = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "engine/__init__.py": "",
            "engine/x.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from pkg.services import y\n"
            ),
            "services/__init__.py": "",
            "services/y.py": "import pkg.ops.z\n",
            "ops/__init__.py": "",
            "ops/z.py": "from pkg import engine\n",
        },
    )
    found = imports(src, "pkg")
    assert {(i.source, i.target) for i in forbidden(found)} == {
        ("engine", "services"),
        ("services", "ops"),
    }
    assert len(cycles(found)) == 1  # engine -> services -> ops -> engine
