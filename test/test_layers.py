"""The import layers of odet_ros, read off its source: no two packages import each other (directly
or round a cycle), so each can be read knowing only what lies below it; the core imports neither
the ROS shells (nodes, launching) nor the CLI, and no rclpy; the lowest layer (interfaces and the
top-level helpers) imports nothing of odet's above it."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

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


LAUNCH = ROOT.parent / "launch"
# odet's pip dependencies: `ros2 launch` runs the launch files under ROS's own Python, which has
# the ROS packages (and PyYAML) but none of these.
PIP_ONLY = ("numpy", "cv2", "rosbags", "onnxruntime", "ai_edge_litert", "tqdm", "supervision")
BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked}:
            raise ImportError(f"{{name}} is not in ROS's Python")
sys.meta_path.insert(0, Block())
for module in {modules}:
    __import__(module)
"""


@pytest.mark.ros
def test_the_launch_files_import_only_what_ross_own_python_has():
    import subprocess
    import sys

    pytest.importorskip("launch_ros")  # (`launch` alone finds this repository's launch/ folder)

    modules = sorted(
        name
        for path in LAUNCH.glob("*.launch.py")
        for name in _imports(path)
        if name.startswith("odet_ros")
    )
    assert modules  # the launch files share odet_ros.launching
    script = BLOCKER.format(blocked=set(PIP_ONLY), modules=modules)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
