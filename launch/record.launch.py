"""Record chosen topics at full rate with `ros2 bag record -s mcap`, for teams who want it all.

ros2 launch odet_ros record.launch.py topics:="/camera/image_raw /camera/camera_info"
ros2 launch odet_ros record.launch.py topics:=all max_bag_duration:=300

The bag goes to <output_dir>/record_<YYYYmmdd_HHMMSS>/. Relative topic names (the default:
camera.launch.py's camera/image_raw and camera/camera_info) are taken in ``namespace``. Needs
rosbag2's mcap storage plugin (ros-<distro>-rosbag2-storage-mcap).
"""

from datetime import datetime
from pathlib import Path

from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch.substitutions import LaunchConfiguration


def _absolute(topic: str, namespace: str) -> str:
    if topic.startswith("/"):
        return topic
    namespace = namespace.strip("/")
    return f"/{namespace}/{topic}" if namespace else f"/{topic}"


def _record(context: LaunchContext) -> list[ExecuteProcess]:
    namespace = LaunchConfiguration("namespace").perform(context)
    topics = LaunchConfiguration("topics").perform(context).split()
    if topics != ["all"]:
        topics = [_absolute(topic, namespace) for topic in topics]
    output_dir = Path(LaunchConfiguration("output_dir").perform(context)).expanduser()
    bag = output_dir / f"record_{datetime.now():%Y%m%d_%H%M%S}"
    output_dir.mkdir(parents=True, exist_ok=True)
    command = ["ros2", "bag", "record", "-s", "mcap", "-o", str(bag)]
    for flag, argument in (("-b", "max_bag_size"), ("-d", "max_bag_duration")):
        value = LaunchConfiguration(argument).perform(context)
        if int(value or 0) > 0:
            command += [flag, value]
    command += ["-a"] if topics == ["all"] else topics
    return [ExecuteProcess(cmd=command, output="screen", sigterm_timeout="10")]


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument(
            "topics",
            default_value="camera/image_raw camera/camera_info",
            description="space-separated topics to record (relative ones in namespace), or 'all'",
        ),
        DeclareLaunchArgument(
            "namespace", default_value="", description="namespace of relative topic names"
        ),
        DeclareLaunchArgument(
            "output_dir", default_value="~/odet_bags", description="where the bag folder goes"
        ),
        DeclareLaunchArgument(
            "max_bag_size",
            default_value="0",
            description="split the bag after this many bytes; 0 = no split",
        ),
        DeclareLaunchArgument(
            "max_bag_duration",
            default_value="0",
            description="split the bag after this many seconds; 0 = no split",
        ),
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=_record)])
