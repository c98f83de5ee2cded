"""The import rule of ``portale/``: no two areas import each other (anywhere, imports inside
functions and under ``TYPE_CHECKING`` included), and no import cycle between the files of one
area. Run it to see the offending imports: ``python -m tools.import_layout``.

An area is a package directly under ``portale/`` (``portale/cases/``...); the modules beside
them (``portale/db.py``, ``portale/storage.py``...) are shared ground below every area.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PACKAGES: set[str] = set()  # dotted names of packages, filled by import_edges


def _modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in (root / "portale").rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _area(module: str) -> str | None:
    """The area of ``portale.<area>.<file>``; modules directly in portale/ have none."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and module in _PACKAGES):
        return parts[1]
    return None


def import_edges(root: Path = ROOT) -> dict[str, dict[str, int]]:
    """module -> {imported portal module: line of the first such import}."""
    modules = _modules(root)
    _PACKAGES.update(m for m, path in modules.items() if path.name == "__init__.py")
    edges: dict[str, dict[str, int]] = defaultdict(dict)
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: None if is_package else -1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            for target in targets:
                if not target.startswith("portale"):
                    continue
                resolved = _resolve(target, modules)
                if resolved and resolved != module:
                    edges[module].setdefault(resolved, node.lineno)
    return edges


def area_pairs(edges: dict[str, dict[str, int]]) -> dict[tuple[str, str], list[str]]:
    """(area, other area) -> the imports making it, for areas that import each other."""
    between: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, targets in edges.items():
        for target, line in targets.items():
            a, b = _area(module), _area(target)
            if a and b and a != b:
                between[(a, b)].append(f"{module}:{line} -> {target}")
    return {
        (a, b): sorted(between[(a, b)] + between[(b, a)])
        for (a, b) in between
        if a < b and (b, a) in between
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def area_cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Circles of areas (a -> b -> c -> a), of any length."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in edges.items():
        for target in targets:
            a, b = _area(module), _area(target)
            if a and b and a != b:
                graph[a].add(b)
    return _cycles(graph)


def file_cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Circles of files inside one area."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in edges.items():
        for target in targets:
            if _area(module) and _area(module) == _area(target):
                graph[module].add(target)
    return _cycles(graph)


def main() -> int:
    edges = import_edges()
    problems = 0
    for (a, b), imports in sorted(area_pairs(edges).items()):
        problems += 1
        print(f"{a} <-> {b}")
        for line in imports:
            print(f"    {line}")
    for cycle in area_cycles(edges):
        problems += 1
        print("areas in a circle:", " -> ".join(cycle))
    for cycle in file_cycles(edges):
        problems += 1
        print("files in a circle:", " -> ".join(cycle))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
