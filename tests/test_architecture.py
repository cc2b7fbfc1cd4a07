"""The house rules of the layout, checked from the source: which room may import what.

engine <- policy <- workbook glue <- workbook/xlsx, workbook/hmis, workbook/excel <- cli.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIRST_PARTY = ("engine", "policy", "workbook", "hmis_licensing")


def modules() -> Iterator[tuple[str, Path]]:
    for package in ("engine", "policy", "workbook"):
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Every module a file imports (absolute names), at module level or anywhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def first_party(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] in FIRST_PARTY}


def test_the_engine_imports_only_itself_and_the_standard_library() -> None:
    for name, path in modules():
        if not name.startswith("engine"):
            continue
        for imported in imports(path):
            top = imported.split(".")[0]
            assert top == "engine" or top in sys.stdlib_module_names or top == "__future__", (
                f"{path.relative_to(REPO)} imports {imported}"
            )


def test_the_file_format_room_knows_nothing_of_the_policy_or_other_rooms() -> None:
    forbidden = ("engine", "policy", "workbook.hmis", "workbook.excel", "workbook.cli")
    for name, path in modules():
        if not name.startswith("workbook.xlsx"):
            continue
        for imported in first_party(imports(path)):
            assert not imported.startswith(forbidden), f"{path.relative_to(REPO)}: {imported}"


def test_policy_never_imports_the_edges() -> None:
    for name, path in modules():
        if name.startswith("policy"):
            for imported in first_party(imports(path)):
                assert not imported.startswith("workbook"), f"{path.relative_to(REPO)}: {imported}"


def test_no_room_imports_the_command_line() -> None:
    for name, path in modules():
        if name == "workbook.cli":
            continue
        assert not any(i.startswith("workbook.cli") for i in imports(path)), name


def test_no_module_imports_another_in_a_circle() -> None:
    known = dict(modules())
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for imported in first_party(imports(path)):
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, trail = stack.pop()
            for target in graph.get(node, ()):
                if target == start:
                    return [*trail, start]
                if target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
        return None

    for name in graph:
        # A package importing its own submodules (re-exports) is not a circle.
        cycle = cycle_from(name)
        if cycle is not None and not all(c.startswith(cycle[0]) for c in cycle):
            raise AssertionError(" -> ".join(cycle))
