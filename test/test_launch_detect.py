"""detect.launch.py loads and declares its arguments; config/detector.yaml matches the node.

Skipped where ROS 2 (launch_ros, rclpy) is missing.
"""

import importlib.util
from pathlib import Path

import pytest
import yaml

pytest.importorskip("launch_ros")
rclpy = pytest.importorskip("rclpy")
pytest.importorskip("onnxruntime")

from launch import LaunchContext, LaunchDescription  # noqa: E402
from launch.actions import DeclareLaunchArgument  # noqa: E402
from launch.substitutions import PathJoinSubstitution  # noqa: E402
from launch_ros.actions import LifecycleNode, Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from odet_ros.nodes.detector_node import DetectorNode  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "test" / "data" / "brightness_model.onnx"


def _module():
    spec = importlib.util.spec_from_file_location(
        "detect_launch", ROOT / "launch" / "detect.launch.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _description() -> LaunchDescription:
    return _module().generate_launch_description()


def test_arguments_are_declared_with_descriptions():
    description = _description()
    declared = {e.name: e for e in description.entities if isinstance(e, DeclareLaunchArgument)}
    assert {
        "model",
        "image_topic",
        "use_compressed",
        "namespace",
        "params_file",
        "rviz",
        "log_level",
        "depth_topic",
        "target_frame",
        "lifecycle",
        "autostart",
    } <= (declared.keys())
    assert all(argument.description for argument in declared.values())
    assert not [e for e in description.entities if isinstance(e, Node)]  # both in functions


def _context(**arguments: str) -> LaunchContext:
    context = LaunchContext()
    defaults = {"model": "m", "use_compressed": "false", "depth_topic": "", "target_frame": "",
                "namespace": "", "params_file": "p.yaml", "image_topic": "camera/image_raw",
                "log_level": "info", "lifecycle": "false", "autostart": "false",
                "rviz": "false", "image_topics": "", "depth_topics": "",
                "rviz_camera": ""}  # fmt: skip
    context.launch_configurations.update({**defaults, **arguments})
    return context


def _detector_parameters(**arguments: str) -> dict:
    module = _module()
    context = _context(**arguments)
    assert len(module._detector(context)) == 1
    return module._overrides(context)


@pytest.mark.parametrize(
    ("lifecycle", "autostart", "actions"),
    [("false", "true", [Node]), ("true", "false", [LifecycleNode]),
     ("true", "true", [LifecycleNode])],
)  # fmt: skip
def test_lifecycle_and_autostart_choose_the_node_and_its_transitions(lifecycle, autostart, actions):
    """lifecycle:=true starts a managed node; autostart:=true has it configure and activate
    itself (the node's own parameter, so nothing waits on service discovery)."""
    made = _module()._detector(_context(lifecycle=lifecycle, autostart=autostart))
    assert [type(action) for action in made] == actions


@pytest.mark.parametrize(
    ("namespace", "image_topic", "depth_topic", "expected"),
    [
        ("", "camera/image_raw", "", {"/camera/image_raw", "/image_annotated"}),
        ("robot1", "camera/image_raw", "d",
         {"/robot1/camera/image_raw", "/robot1/image_annotated", "/robot1/detection_markers"}),
        ("", "/front/color/image_raw", "d",
         {"/front/color/image_raw", "/image_annotated", "/detection_markers"}),
        ("", "['/front/image_raw', '/rear/image_raw/compressed']", "['/front/depth', '']",
         {"/rear/image_raw", "/rear/image_annotated"}),
    ],
)  # fmt: skip
def test_rviz_shows_this_launchs_topics_and_markers_only_with_depth(
    monkeypatch, tmp_path, namespace, image_topic, depth_topic, expected
):
    monkeypatch.setenv("ROS_HOME", str(tmp_path))
    if image_topic.startswith("["):  # several cameras: rviz_camera picks the rear one
        arguments = {"image_topics": image_topic, "depth_topics": depth_topic,
                     "rviz_camera": "/rear/image_raw/compressed"}  # fmt: skip
    else:
        arguments = {"image_topic": image_topic, "depth_topic": depth_topic}
    context = _context(rviz="true", namespace=namespace, **arguments)
    template = ROOT / "config" / "odet.rviz"
    (rviz,) = _module()._rviz(context, template=PathJoinSubstitution([str(template)]))
    assert isinstance(rviz, Node)
    (written,) = (tmp_path / "odet" / "rviz").glob("*.rviz")
    displays = yaml.safe_load(written.read_text())["Visualization Manager"]["Displays"]
    assert {d["Topic"]["Value"] for d in displays if "Topic" in d} == expected
    assert _module()._rviz(_context(), template=PathJoinSubstitution([str(template)])) == []


def test_image_topics_reach_the_node_as_lists():
    given = _detector_parameters(
        image_topics="['/front/image_raw', '/rear/image_raw']", depth_topics="['/front/depth', '']"
    )
    assert given["image_topics"] == ["/front/image_raw", "/rear/image_raw"]
    assert given["depth_topics"] == ["/front/depth", ""]
    assert "image_topics" not in _detector_parameters()


def test_depth_arguments_reach_the_node_only_when_given():
    """Empty defaults must not override what a params_file sets."""
    plain = _detector_parameters()
    assert plain == {"model": "m", "image_transport": "raw"}
    depth = _detector_parameters(depth_topic="/cam/depth", target_frame="base_link")
    assert (depth["depth_topic"], depth["target_frame"]) == ("/cam/depth", "base_link")


def _own_parameters(node) -> dict:
    """The node's parameters less those rclpy declares on every node (use_sim_time; Jazzy adds
    start_type_description_service), read off a bare node of the same rclpy."""
    bare = rclpy.create_node("bare")
    try:
        added_by_ros = set(bare.get_parameters_by_prefix(""))
    finally:
        bare.destroy_node()
    return {
        n: p.value for n, p in node.get_parameters_by_prefix("").items() if n not in added_by_ros
    }


def test_config_sets_the_declared_parameters_with_their_types():
    config = yaml.safe_load((ROOT / "config" / "detector.yaml").read_text())
    values = config["/**"]["ros__parameters"]
    rclpy.init()
    try:
        node = DetectorNode(parameter_overrides=[Parameter("model", value=str(MODEL))])
        try:
            declared = _own_parameters(node)
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown()
    assert set(values) <= set(declared)
    # documented, commented out: all classes; one camera on the image remapping
    assert set(declared) - set(values) == {"classes", "image_topics", "depth_topics"}
    for name, value in values.items():
        assert type(value) is type(declared[name]), name
