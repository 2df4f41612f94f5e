"""The import layers of odet_ros, read off its source: no two packages import each other (directly
or round a cycle), so each can be read knowing only what lies below it; the core imports neither
the ROS shells (nodes, launching) nor the CLI, and no rclpy; the lowest layer (interfaces and the
top-level helpers) imports nothing of odet's above it."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "odet_ros"
SHELLS = {"nodes", "launching", "cli"}  # wiring over the core: rclpy, launch, argparse
LOWEST = {"interfaces", "errors", "logs", "atomic"}


def _unit(path: Path) -> str:
    """A package's name, or a top-level module's."""
    relative = path.relative_to(ROOT)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        unit = _unit(path)
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "odet_ros" and len(parts) > 1 and parts[1] != unit:
                graph[unit].add(parts[1])
    return graph


def test_no_two_packages_import_each_other():
    graph = _graph()

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            unit, path = stack.pop()
            for target in graph.get(unit, ()):
                if target == start:
                    return [*path, start]
                if target not in path:
                    stack.append((target, [*path, target]))
        return None

    cycles = [cycle for unit in sorted(graph) if (cycle := cycle_from(unit))]
    assert not cycles, " -> ".join(cycles[0])


def test_the_core_imports_no_shell_and_no_rclpy():
    graph = _graph()
    core = [unit for unit in graph if unit not in SHELLS]
    assert not [(unit, sorted(graph[unit] & SHELLS)) for unit in core if graph[unit] & SHELLS]
    ros = {"rclpy", "launch", "launch_ros"}
    for path in ROOT.rglob("*.py"):
        if _unit(path) not in SHELLS:
            used = {name.split(".")[0] for name in _imports(path)} & ros
            assert not used, f"{path.relative_to(ROOT)} imports {used}"


def test_the_lowest_layer_imports_nothing_above_it():
    graph = _graph()
    for unit in LOWEST:
        assert graph.get(unit, set()) <= LOWEST, (unit, graph.get(unit))
