"""Run capture_node: sampled, sharp, de-duplicated camera frames into rosbag2 (mcap).

ros2 launch odet_ros capture.launch.py image_topics:="['/front/image_raw']" period:=0.5
ros2 launch odet_ros capture.launch.py start_camera:=true source:=/dev/video0
ros2 launch odet_ros capture.launch.py select:=all model:=cups_v1   # with detect.launch.py running

Services: /capture_node/start, /capture_node/stop, /capture_node/snapshot (std_srvs/Trigger).
lifecycle:=true makes it a managed node (activate records, deactivate closes the bag);
autostart:=true then configures and activates it from the launch.
Arguments left empty keep the value from params_file. With start_camera, camera.launch.py runs
in a scope of its own (its own params_file) in <namespace>/camera, where the default image topic
(camera/image_raw, relative to the namespace) finds it.
"""

import yaml
from launch import LaunchContext, LaunchDescription
from launch.action import Action
from launch.actions import (
    DeclareLaunchArgument,
    GroupAction,
    IncludeLaunchDescription,
    OpaqueFunction,
)
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

from odet_ros.launching.nodes import is_true, node_actions

# argument: (capture_node parameter, type, description); empty = as in params_file
OVERRIDES = {
    "image_topics": ("image_topics", list, "image topics, a list: \"['/a/image_raw', ...]\""),
    "output_dir": ("output_dir", str, "sessions go to <output_dir>/<prefix>_<timestamp>/"),
    "period": ("period", float, "minimum seconds between kept frames of a camera"),
    "jpeg_quality": ("jpeg_quality", int, "JPEG quality (1-100) of re-encoded frames"),
    "compressed": ("store_compressed", bool, "store JPEG CompressedImage (true) or raw Image"),
    "select": ("select", str, "the detector's model chooses: all, or unsure,unstable,novel,blind"),
    "model": ("model", str, "select: the model's name, recorded with the pre-labels"),
    "per_view": ("per_view", int, "select: frames kept of one view at most (0: no limit)"),
    "per_minute": ("per_minute", float, "select: frames kept per minute at most"),
    "budget": ("budget", int, "select: frames kept in all"),
    "unsure_low": ("unsure_low", float, "select unsure: lowest score of a fixed band"),
    "unsure_high": ("unsure_high", float, "select unsure: top of a fixed band (0: the model's)"),
    "unsure_share": ("unsure_share", float, "select unsure: share of a frame's boxes unsure"),
    "unsure_margin": ("unsure_margin", float, "select unsure: best class's lead under this"),
    "count_jump": ("count_jump", int, "select unstable: boxes gained or lost (0: off)"),
    "novelty": ("novelty", float, "select novel: view distance to training and kept frames"),
    "trained_view": ("trained_view", float, "select: view distance to training views kept out"),
    "new_burst": ("new_burst", int, "select: frames a view not kept yet may take ahead"),
    "calibration_seconds": ("calibration_seconds", float, "select: footage a bare model learns on"),
}


# capture.launch.py arguments passed on to camera.launch.py when start_camera is true
CAMERA_ARGUMENTS = ("source", "fps", "loop", "log_level")


def _parameter(kind: type, text: str) -> object:
    if kind is list:
        value = yaml.safe_load(text)
        return [str(v) for v in value] if isinstance(value, list) else [text]
    if kind is bool:
        return is_true(text)
    return kind(text)


def _capture_node(context: LaunchContext) -> list[Action]:
    def argument(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    given = {}
    for name, (parameter, kind, _) in OVERRIDES.items():
        if argument(name):
            given[parameter] = _parameter(kind, argument(name))
    return node_actions(
        lifecycle=is_true(argument("lifecycle")),
        autostart=is_true(argument("autostart")),
        package="odet_ros",
        executable="capture_node",
        name="capture_node",
        namespace=argument("namespace"),
        parameters=[argument("params_file"), given],
        arguments=["--ros-args", "--log-level", argument("log_level")],
        output="screen",
        emulate_tty=True,
        sigterm_timeout="10",  # time to close the bag after SIGINT before SIGTERM
    )


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("odet_ros")
    arguments = [
        DeclareLaunchArgument(
            name, default_value="", description=f"{description}; empty: from params_file"
        )
        for name, (_, _, description) in OVERRIDES.items()
    ]
    arguments += [
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", "capture.yaml"]),
            description="capture_node parameters file",
        ),
        DeclareLaunchArgument("namespace", default_value="", description="capture_node namespace"),
        DeclareLaunchArgument("log_level", default_value="info", description="ROS log level"),
        DeclareLaunchArgument(
            "lifecycle",
            default_value="false",
            description="a managed node: activate records, deactivate closes the bag",
        ),
        DeclareLaunchArgument(
            "autostart",
            default_value="false",
            description="with lifecycle: configure and activate it from this launch",
        ),
        DeclareLaunchArgument(
            "start_camera",
            default_value="false",
            description="also start camera_node (camera.launch.py) in <namespace>/camera",
        ),
        DeclareLaunchArgument(
            "source", default_value="", description="camera_node source when start_camera is true"
        ),
        DeclareLaunchArgument(
            "fps", default_value="", description="camera_node fps; empty: from camera.yaml"
        ),
        DeclareLaunchArgument(
            "loop",
            default_value="",
            description="camera_node: replay a file or folder at its end; empty: from camera.yaml",
        ),
    ]
    return LaunchDescription(
        [*arguments, OpaqueFunction(function=_camera), OpaqueFunction(function=_capture_node)]
    )


def _camera(context: LaunchContext) -> list[GroupAction]:
    """camera.launch.py in a scope that forwards nothing but what is given here: otherwise it
    would inherit this file's params_file and namespace."""
    namespace = LaunchConfiguration("namespace").perform(context).strip("/")
    include = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare("odet_ros"), "launch", "camera.launch.py"])
        )
    )
    return [
        GroupAction(
            [include],
            forwarding=False,
            launch_configurations={
                **{name: LaunchConfiguration(name) for name in CAMERA_ARGUMENTS},
                "namespace": f"{namespace}/camera" if namespace else "camera",
            },
            condition=IfCondition(LaunchConfiguration("start_camera")),
        )
    ]
