"""Every command the documents tell a user to type is checked here, where running it is not
possible: an ``odet`` line parses with odet's own parser (subcommands, flags, choices, value
types), a ``ros2 launch`` names a launch file that exists and declares the arguments given (that
part on real ROS 2), a ``ros2 param set`` names a parameter of that node's table that may change at
run time with a valid value, files named inside the repository exist, and the Python examples
import what exists. The rest is listed in UNCHECKED with the reason. The demo (`scripts/demo.sh`,
`odet demo`) is run for real by test_demo.py.

To check another document (after the README is split into docs/), add it to DOCUMENTS; a new
program in a command needs a checker in CHECKERS or an entry in UNCHECKED.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from support.docs import (
    ROOT,
    Block,
    Command,
    blocks,
    check_odet,
    check_odet_flags,
    check_parameter,
    check_python,
    commands,
    inline_commands,
    launch_arguments,
    repository_paths,
)

from odet_ros.runtime.camera_parameters import CAMERA_PARAMETERS
from odet_ros.runtime.capture_parameters import CAPTURE_PARAMETERS
from odet_ros.runtime.detector_parameters import DETECTOR_PARAMETERS

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

# Nodes by the names the launch files give them, with their parameter tables.
PARAMETER_TABLES = {
    "detector": DETECTOR_PARAMETERS,
    "capture_node": CAPTURE_PARAMETERS,
    "camera_node": CAMERA_PARAMETERS,
}
LIFECYCLE_TRANSITIONS = {"configure", "activate", "deactivate", "cleanup", "shutdown"}

# Commands that cannot be checked without running them, by program (or `ros2 VERB`), and why.
UNCHECKED = {
    "source": "shell built-in: sources ROS's or the workspace's setup file",
    "cd": "shell built-in",
    "export": "shell built-in: sets a variable the user fills in",
    "touch": "coreutils",
    "python3": "python3 -m venv / -m colcon: Python's and colcon's own (test_colcon_install.py"
    " builds the package with colcon)",
    "git": "git clone of this repository, whose address the reader fills in",
    "rosdep": "third-party: installs package.xml's dependencies with apt (test_package_xml.py"
    " checks the keys)",
    "pip": "third-party installer (the ranges are setup.py's and constraints/robot.txt's)",
    "python": "pytest or a script of this repository (the path is checked to exist), or the"
    " tools' own scripts: YOLOv5's export.py (test_readme_own_models.py holds each line to the"
    " arguments the toolchain build gives it) and the Object Detection API's"
    " export_tflite_graph_tf2.py (not installed here)",
    "tflite_convert": "TensorFlow's converter: the toolchain build runs the line's form"
    " (test_readme_own_models.py)",
    "tensorboard": "TensorBoard's own command",
    "label-studio": "third-party: Label Studio's server (test_labelstudio_live.py starts one)",
    "ros2 service": "needs a running node (test_ros_capture.py calls capture_node's services on"
    " real ROS 2)",
    "ros2 topic": "needs a running graph (test_ros_detect.py reads /detections on real ROS 2)",
    "ros2 bag": "ros2 bag's own; the ROS tests record and play bags with it",
    "apt": "the distribution's packages (ros-$ROS_DISTRO-...), named as the ROS index names them",
    "mkdir": "coreutils",
    "echo": "shell built-in",
    "tee": "coreutils: writes a sysctl file",
    "sysctl": "the kernel's own setting (root); test_udp_drops.py reads the count it prevents",
    "curl": "downloads pretrained weights on a machine with network; odet itself never does",
    "scp": "copies a bundle to the robot; the address is the reader's",
    "rsync": "copies recordings from the robot; the address is the reader's",
    "ros2 launch realsense2_camera": "the RealSense driver's own launch file (not installed here)",
    "ros2 launch foxglove_bridge": "foxglove_bridge's own launch file (not installed here)",
    "ros2 run tf2_ros": "tf2_ros' static_transform_publisher, with the flags of Humble and Jazzy",
}


def _key(command: Command) -> str:
    """What decides the checker: the program, `ros2 VERB`, or for another package's launch file
    or executable `ros2 VERB PACKAGE`."""
    argv = command.argv
    if command.program == "ros2" and len(argv) > 1:
        if argv[1] in ("launch", "run") and len(argv) > 2 and argv[2] != "odet_ros":
            return f"ros2 {argv[1]} {argv[2]}"
        return f"ros2 {argv[1]}"
    return command.program


def _odet(command: Command) -> list[str]:
    return check_odet(command.argv[1:])


def _bash(command: Command) -> list[str]:
    script = command.argv[1] if len(command.argv) > 1 else ""
    return [] if (ROOT / script).is_file() else [f"{script}: no such script"]


def _launch(command: Command) -> list[str]:
    name, _ = launch_arguments(command.argv)
    return [] if (ROOT / "launch" / name).is_file() else [f"launch/{name}: no such launch file"]


def _param(command: Command) -> list[str]:
    verb, node, name, value = command.argv[2:6]
    if verb != "set":
        return [f"ros2 param {verb}: only `set` is checked"]
    return check_parameter(node, name, value, PARAMETER_TABLES)


def _lifecycle(command: Command) -> list[str]:
    node, transition = command.argv[3], command.argv[4]
    table = PARAMETER_TABLES.get(node.strip("/"), {})
    if "lifecycle" not in table:
        return [f"{node} is not a node that can run managed (no lifecycle parameter)"]
    if transition not in LIFECYCLE_TRANSITIONS:
        return [f"{transition!r} is not a lifecycle transition"]
    return []


def _run(command: Command) -> list[str]:
    package, executable, *rest = command.argv[2:]
    scripts = re.findall(r'"(\w+) = odet_ros', (ROOT / "setup.py").read_text())
    if package != "odet_ros" or executable not in scripts:
        return [f"{package} {executable}: not an executable odet_ros installs ({scripts})"]
    return check_odet(rest) if executable == "odet" else []


CHECKERS: dict[str, Callable[[Command], list[str]]] = {
    "odet": _odet,
    "bash": _bash,
    "ros2 launch": _launch,
    "ros2 param": _param,
    "ros2 lifecycle": _lifecycle,
    "ros2 run": _run,
}
ALL_COMMANDS = [command for document in DOCUMENTS for command in commands(document)]


def _whole(command: Command) -> bool:
    """An inline ``ros2`` span that is a whole command a checker can read (not `ros2 bag play`
    named in a sentence)."""
    argv, key = command.argv, _key(command)
    if key == "ros2 param":
        return len(argv) == 6 and argv[2] == "set"
    return key == "ros2 launch" and len(argv) >= 4 and argv[2] == "odet_ros"


INLINE_ROS = [c for d in DOCUMENTS for c in inline_commands(d, "ros2") if _whole(c)]
LAUNCHES = [c for c in ALL_COMMANDS + INLINE_ROS if _key(c) == "ros2 launch"]


def _id(command: Command) -> str:
    return f"{command.document.name}:{command.line}:{_key(command)}"


def test_the_documents_have_commands():
    """Catches a change in the block syntax that would leave nothing to check."""
    keys = {_key(c) for c in ALL_COMMANDS}
    assert {"odet", "ros2 launch", "ros2 param"} <= keys


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=_id)
def test_each_command_is_valid_or_excused(command: Command):
    key = _key(command)
    assert key in CHECKERS or key in UNCHECKED, (
        f"{command.where()}: no checker for {key!r}: add one to CHECKERS, or list it in"
        " UNCHECKED with the reason"
    )
    checker = CHECKERS.get(key)
    problems = (checker(command) if checker else []) + repository_paths(command.argv)
    assert problems == [], command.where()


def test_every_excuse_is_still_used():
    used = {_key(c) for c in ALL_COMMANDS}
    assert set(UNCHECKED) - used == set()


@pytest.mark.parametrize(
    "command",
    [c for document in DOCUMENTS for c in inline_commands(document, "odet")],
    ids=lambda c: f"{c.document.name}:{c.line}",
)
def test_odet_in_the_prose_names_real_subcommands_and_flags(command: Command):
    assert check_odet_flags(command.argv[1:]) == [], command.where()


@pytest.mark.parametrize("command", INLINE_ROS, ids=lambda c: f"{c.document.name}:{c.line}")
def test_ros2_commands_in_the_prose_are_valid(command: Command):
    assert CHECKERS[_key(command)](command) == [], command.where()


@pytest.mark.parametrize(
    "block",
    [block for document in DOCUMENTS for block in blocks(document, ("python",))],
    ids=lambda b: f"line {b.line}",
)
def test_python_examples_import_what_exists(block: Block):
    assert check_python(block) == []


def _undeclared(command: Command) -> set[str]:
    """The ``a:=b`` arguments of a ``ros2 launch odet_ros`` command its launch file does not
    declare (the file loaded with ROS 2's launch, as ``ros2 launch`` loads it)."""
    from launch.actions import DeclareLaunchArgument

    name, given = launch_arguments(command.argv)
    path = ROOT / "launch" / name
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    declared = {e.name for e in description.entities if isinstance(e, DeclareLaunchArgument)}
    return set(given) - declared


@pytest.mark.ros
@pytest.mark.parametrize("command", LAUNCHES, ids=_id)
def test_launch_arguments_are_declared(command: Command):
    pytest.importorskip("launch_ros")
    assert _undeclared(command) == set(), command.where()


@pytest.mark.ros
def test_an_undeclared_launch_argument_is_found():
    pytest.importorskip("launch_ros")
    argv = ("ros2", "launch", "odet_ros", "detect.launch.py", "model:=m", "modle:=typo")
    assert _undeclared(Command(ROOT / "README.md", 1, argv)) == {"modle"}


def test_the_checks_find_what_is_wrong(tmp_path: Path):
    document = tmp_path / "bad.md"
    document.write_text(
        "Text `odet eval --no-such-flag` and `odet trian`.\n\n"
        "```bash\n"
        "odet train --data d --epochs ten   # a value of the wrong type\n"
        "odet eval m d --split test \\\n    --mode yolo && bash scripts/nothing.sh\n"
        "ros2 param set /detector qos_depth 5            # read-only\n"
        "ros2 param set /detector tracker deepsort       # not a choice\n"
        "ros2 param set /detector conf_threshold 1.5     # out of range\n"
        "ros2 param set /detector no_such 1\n"
        "ros2 launch odet_ros missing.launch.py params_file:=config/missing.yaml\n"
        "ros2 lifecycle set /camera_node configure\n"
        "ODET_X=1 my-tool --flag > out.txt\n"
        "```\n\n"
        "```python\nfrom odet_ros.detection import no_such_name\n```\n"
    )
    found = commands(document)
    assert [(c.line, c.argv[:2]) for c in found] == [
        (4, ("odet", "train")),
        (5, ("odet", "eval")),
        (5, ("bash", "scripts/nothing.sh")),
        (7, ("ros2", "param")),
        (8, ("ros2", "param")),
        (9, ("ros2", "param")),
        (10, ("ros2", "param")),
        (11, ("ros2", "launch")),
        (12, ("ros2", "lifecycle")),
        (13, ("my-tool", "--flag")),
    ]
    checked, unknown = found[:-1], found[-1]
    problems = [CHECKERS[_key(c)](c) + repository_paths(c.argv) for c in checked]
    assert all(problems), [c.where() for c, p in zip(checked, problems, strict=True) if not p]
    assert "invalid int value: 'ten'" in problems[0][0]
    assert "invalid choice: 'yolo'" in problems[1][0]
    assert "read-only" in problems[3][0]
    assert problems[7] == [
        "launch/missing.launch.py: no such launch file",
        "config/missing.yaml: no such file in the repository",
    ]
    assert _key(unknown) not in CHECKERS and _key(unknown) not in UNCHECKED
    fragments = inline_commands(document, "odet")
    assert [check_odet_flags(c.argv[1:]) for c in fragments] == [
        ["odet eval has no option --no-such-flag"],
        ["odet has no subcommand 'trian'"],
    ]
    (python,) = blocks(document, ("python",))
    assert check_python(python) == [f"line {python.line}: odet_ros.detection has no no_such_name"]


def _update_docs():
    spec = importlib.util.spec_from_file_location(
        "update_docs", ROOT / "scripts" / "update_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_s_parameter_tables_are_the_code_s():
    update_docs = _update_docs()
    text = update_docs.REFERENCE.read_text()
    assert set(m["name"] for m in update_docs.SECTION.finditer(text)) == set(update_docs.TABLES)
    assert update_docs.render(text) == text, "run .venv/bin/python scripts/update_docs.py"


def test_a_stale_parameter_table_is_found():
    update_docs = _update_docs()
    stale = "<!-- generated: camera_node -->\n| `fps` | `15` |\n<!-- end generated -->"
    rendered = update_docs.render(stale)
    assert rendered != stale and "| `fps` |" in rendered and "| `source` |" in rendered


def test_the_reference_names_every_odet_command():
    from odet_ros.cli.main import build_parser

    reference = (ROOT / "docs" / "reference.md").read_text()
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in subparsers.choices.items():
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        names = [f"odet {name} {n}" for n in nested[0].choices] if nested else [f"odet {name}"]
        missing = [
            n for n in names if f"`{n}`" not in reference and f"`{n.split()[-1]}`" not in reference
        ]
        assert missing == [], f"docs/reference.md does not name {missing}"
