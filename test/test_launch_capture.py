"""camera/capture/record launch files load and declare their arguments; config files match the
parameters the nodes declare. Skipped where ROS 2 (launch_ros, rclpy) is missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

pytest.importorskip("launch_ros")
pytest.importorskip("rclpy")

from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.utilities import perform_substitutions

from odet_ros.runtime.camera_parameters import CAMERA_PARAMETERS
from odet_ros.runtime.capture_parameters import CAPTURE_PARAMETERS

ROOT = Path(__file__).resolve().parent.parent


def load(name: str):
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), ROOT / "launch" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def arguments(description: LaunchDescription) -> dict[str, DeclareLaunchArgument]:
    return {e.name: e for e in description.entities if isinstance(e, DeclareLaunchArgument)}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("camera.launch.py", {"source", "fps", "camera_info_url", "params_file", "namespace"}),
        (
            "capture.launch.py",
            {
                "image_topics", "output_dir", "period", "jpeg_quality", "compressed",
                "start_camera", "params_file", "namespace", "log_level",
            },
        ),
        ("record.launch.py", {"topics", "output_dir", "max_bag_size", "max_bag_duration"}),
    ],
)  # fmt: skip
def test_launch_files_load_and_declare_their_arguments(name, expected):
    description = load(name).generate_launch_description()
    assert isinstance(description, LaunchDescription)
    declared = arguments(description)
    assert expected <= declared.keys()
    assert all(argument.description for argument in declared.values())


def test_capture_launch_converts_arguments_to_parameter_types():
    module = load("capture.launch.py")
    assert module._parameter(list, "['/a/image', '/b/image/compressed']") == [
        "/a/image",
        "/b/image/compressed",
    ]
    assert module._parameter(list, "/a/image") == ["/a/image"]
    assert module._parameter(float, "2") == 2.0 and isinstance(module._parameter(float, "2"), float)
    assert module._parameter(bool, "false") is False
    assert module._parameter(bool, "True") is True


@pytest.mark.parametrize(
    ("topics", "namespace", "recorded"),
    [
        ("camera/image_raw camera/camera_info", "", ["/camera/image_raw", "/camera/camera_info"]),
        ("camera/image_raw /tf", "robot1", ["/robot1/camera/image_raw", "/tf"]),
        ("all", "robot1", ["-a"]),
    ],
)
def test_record_launch_builds_the_ros2_bag_command(tmp_path, topics, namespace, recorded):
    module = load("record.launch.py")
    context = LaunchContext()
    context.launch_configurations.update(
        {
            "topics": topics,
            "namespace": namespace,
            "output_dir": str(tmp_path),
            "max_bag_size": "0",
            "max_bag_duration": "300",
        }
    )
    (process,) = module._record(context)
    assert isinstance(process, ExecuteProcess)
    command = [perform_substitutions(context, part) for part in process.cmd]
    assert command[:5] == ["ros2", "bag", "record", "-s", "mcap"]
    output = Path(command[command.index("-o") + 1])
    assert output.parent == tmp_path and output.name.startswith("record_")
    assert "-b" not in command and command[command.index("-d") + 1] == "300"
    assert command[-len(recorded) :] == recorded


@pytest.mark.parametrize(
    ("config", "parameters"),
    [("capture.yaml", CAPTURE_PARAMETERS), ("camera.yaml", CAMERA_PARAMETERS)],
)
def test_config_files_set_exactly_the_declared_parameters_with_their_types(config, parameters):
    document = yaml.safe_load((ROOT / "config" / config).read_text())
    values = document["/**"]["ros__parameters"]
    assert values.keys() == parameters.keys()
    for name, value in values.items():
        assert type(value) is type(parameters[name].default), name
