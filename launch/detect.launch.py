"""Run detector_node on a camera stream, optionally with rviz2.

ros2 launch odet_ros detect.launch.py model:=my_bundle image_topic:=/front/color/image_raw

The default image_topic, camera/image_raw, is relative: with namespace:=robot1 the node reads
/robot1/camera/image_raw and publishes /robot1/detections, /robot1/label_info and
/robot1/image_annotated.

With an RGB-D camera, 3D positions too (detections_3d, detection_markers for rviz):
ros2 launch odet_ros detect.launch.py model:=my_bundle image_topic:=/camera/color/image_raw \
    depth_topic:=/camera/aligned_depth_to_color/image_raw target_frame:=base_link

As a managed node for a lifecycle manager (Nav2's, or `ros2 lifecycle set /detector configure`),
or configured and activated by the launch itself with autostart:=true:
ros2 launch odet_ros detect.launch.py model:=my_bundle lifecycle:=true autostart:=true

Several cameras through one node and one model; each camera's outputs beside its image topic
(/front/detections, /rear/detections); rviz_camera picks the camera rviz shows:
ros2 launch odet_ros detect.launch.py model:=my_bundle \
    image_topics:="['/front/image_raw', '/rear/image_raw']" rviz:=true rviz_camera:=/rear/image_raw

rviz:=true opens config/odet.rviz fitted to this launch: the camera, its annotated image, and the
3D markers only when that camera has a depth topic.
"""

from pathlib import Path

import yaml
from launch import LaunchContext, LaunchDescription
from launch.action import Action
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from odet_ros.interfaces.topics import base_topic
from odet_ros.launching.nodes import is_true, node_actions
from odet_ros.launching.rviz import rviz_config, write_rviz_config
from odet_ros.runtime.cameras import cameras
from odet_ros.runtime.errors import ParameterError


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("odet_ros")
    arguments = [
        DeclareLaunchArgument(
            "model", description="model bundle name (in models/), bundle folder or model file"
        ),
        DeclareLaunchArgument(
            "image_topic",
            default_value="camera/image_raw",
            description="camera image topic, relative ones in namespace (the base name when"
            " use_compressed is true)",
        ),
        DeclareLaunchArgument(
            "use_compressed",
            default_value="false",
            description="subscribe to <image_topic>/compressed instead of raw images",
        ),
        DeclareLaunchArgument("namespace", default_value="", description="node namespace"),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", "detector.yaml"]),
            description="detector parameters file",
        ),
        DeclareLaunchArgument(
            "depth_topic",
            default_value="",
            description="depth image aligned to the colour image (16UC1, 32FC1 or"
            " .../compressedDepth); empty: 2D only",
        ),
        DeclareLaunchArgument(
            "target_frame",
            default_value="",
            description="tf2 frame of detections_3d; empty: the camera's optical frame",
        ),
        DeclareLaunchArgument(
            "image_topics",
            default_value="",
            description="several cameras through one node, a list: \"['/front/image_raw', ...]\""
            " (outputs beside each); empty: one camera, image_topic",
        ),
        DeclareLaunchArgument(
            "depth_topics",
            default_value="",
            description="with image_topics: each camera's aligned depth topic, same order, '' for"
            " none",
        ),
        DeclareLaunchArgument(
            "rviz_camera",
            default_value="",
            description="the camera rviz shows (one of image_topics); empty: the first",
        ),
        DeclareLaunchArgument(
            "lifecycle",
            default_value="false",
            description="a managed node: wait for configure and activate (lifecycle manager)",
        ),
        DeclareLaunchArgument(
            "autostart",
            default_value="false",
            description="with lifecycle: configure and activate it from this launch",
        ),
        DeclareLaunchArgument("rviz", default_value="false", description="start rviz2"),
        DeclareLaunchArgument("log_level", default_value="info", description="ROS log level"),
    ]
    template = PathJoinSubstitution([share, "config", "odet.rviz"])
    return LaunchDescription(
        [
            *arguments,
            OpaqueFunction(function=_detector),
            OpaqueFunction(function=_rviz, kwargs={"template": template}),
        ]
    )


def _list(text: str) -> list[str]:
    """A list launch argument ("['/a', '/b']"; a single name is a list of one)."""
    value = yaml.safe_load(text) if text else []
    return [str(item or "") for item in value] if isinstance(value, list) else [text]


def _overrides(context: LaunchContext) -> dict[str, object]:
    """Parameters set by launch arguments, over params_file: the optional ones only when given,
    so that a params_file setting them is not overridden by the empty defaults."""
    compressed = LaunchConfiguration("use_compressed").perform(context).lower() == "true"
    given: dict[str, object] = {
        name: LaunchConfiguration(name).perform(context)
        for name in ("depth_topic", "target_frame")
        if LaunchConfiguration(name).perform(context)
    }
    for name in ("image_topics", "depth_topics"):
        if LaunchConfiguration(name).perform(context):
            given[name] = _list(LaunchConfiguration(name).perform(context))
    return {
        "model": LaunchConfiguration("model").perform(context),
        "image_transport": "compressed" if compressed else "raw",
        **given,
    }


def _detector(context: LaunchContext) -> list[Action]:
    def argument(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    return node_actions(
        lifecycle=is_true(argument("lifecycle")),
        autostart=is_true(argument("autostart")),
        package="odet_ros",
        executable="detector_node",
        name="detector",
        namespace=argument("namespace"),
        parameters=[argument("params_file"), _overrides(context)],
        remappings=[("image", argument("image_topic"))],
        arguments=["--ros-args", "--log-level", argument("log_level")],
        output="screen",
        emulate_tty=True,
    )


def _absolute(topic: str, namespace: str) -> str:
    """A topic name as the node resolves it: relative ones in its namespace."""
    if topic.startswith("/"):
        return topic
    namespace = namespace.strip("/")
    return f"/{namespace}/{topic}" if namespace else f"/{topic}"


def _rviz(context: LaunchContext, template: PathJoinSubstitution) -> list[Node]:
    """rviz2 with odet.rviz fitted to this launch's topics, when rviz:=true."""
    if not is_true(LaunchConfiguration("rviz").perform(context)):
        return []

    def argument(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    namespace = argument("namespace")

    def resolve(topic: str) -> str:
        return _absolute(topic, namespace)

    found = cameras(
        _list(argument("image_topics")),
        _list(argument("depth_topics")),
        resolve,
        single=(resolve(argument("image_topic")), argument("depth_topic")),
    )
    chosen = [c for c in found if c.topic == resolve(argument("rviz_camera"))]
    if argument("rviz_camera") and not chosen:
        raise ParameterError(f"rviz_camera {argument('rviz_camera')} is none of the cameras")
    camera = (chosen or found)[0]
    config = rviz_config(
        yaml.safe_load(Path(template.perform(context)).read_text()),
        image=base_topic(camera.topic),
        outputs=camera.outputs or resolve(""),
        depth=bool(camera.depth_topic),
        fixed_frame=argument("target_frame"),
    )
    return [
        Node(
            package="rviz2",
            executable="rviz2",
            name="rviz2",
            arguments=["-d", str(write_rviz_config(config))],
            output="screen",
        )
    ]
