"""Run camera_node: a V4L2 device, video file, stream URL or image folder as a ROS camera.

ros2 launch odet_ros camera.launch.py source:=/dev/video0 fps:=15
ros2 launch odet_ros camera.launch.py source:=/data/drive.mp4 loop:=true

Topics: /<namespace>/image_raw, /<namespace>/camera_info (and image_raw/compressed), the names
detect.launch.py, capture.launch.py and record.launch.py expect by default. On a robot with a
namespace, give namespace:=<robot>/camera. Arguments left empty keep the value from params_file.
"""

from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

# argument: (parameter type, description); empty = as in params_file
OVERRIDES = {
    "source": (str, "device index or path, video file, rtsp/http URL, or image folder"),
    "fps": (float, "frames published per second"),
    "width": (int, "frame width (0 = the source's own)"),
    "height": (int, "frame height (0 = the source's own)"),
    "frame_id": (str, "header.frame_id"),
    "encoding": (str, "bgr8 or rgb8"),
    "loop": (bool, "replay a video file or image folder at its end (true/false)"),
    "publish_compressed": (bool, "also publish image/compressed (true/false)"),
    "camera_info_url": (str, "calibration YAML: file://, package:// or a path"),
}


def _parameter(kind: type, text: str) -> object:
    if kind is bool:
        return text.strip().lower() in ("true", "1", "yes")
    return kind(text)


def _camera_node(context: LaunchContext) -> list[Node]:
    given = {
        name: _parameter(kind, LaunchConfiguration(name).perform(context))
        for name, (kind, _) in OVERRIDES.items()
        if LaunchConfiguration(name).perform(context)
    }
    return [
        Node(
            package="odet_ros",
            executable="camera_node",
            name="camera_node",
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file"), given],
            arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level")],
            output="screen",
            emulate_tty=True,
        )
    ]


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("odet_ros")
    arguments = [
        DeclareLaunchArgument(
            name, default_value="", description=f"{description}; empty: from params_file"
        )
        for name, (_, description) in OVERRIDES.items()
    ]
    arguments += [
        DeclareLaunchArgument(
            "namespace", default_value="camera", description="namespace of the camera topics"
        ),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", "camera.yaml"]),
            description="camera_node parameters file",
        ),
        DeclareLaunchArgument("log_level", default_value="info", description="ROS log level"),
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=_camera_node)])
