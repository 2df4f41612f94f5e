"""Run detector_node on a camera stream, optionally with rviz2.

ros2 launch odet_ros detect.launch.py model:=my_bundle image_topic:=/front/color/image_raw

The default image_topic, camera/image_raw, is relative: with namespace:=robot1 the node reads
/robot1/camera/image_raw and publishes /robot1/detections, /robot1/label_info and
/robot1/image_annotated.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


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
        DeclareLaunchArgument("rviz", default_value="false", description="start rviz2"),
        DeclareLaunchArgument("log_level", default_value="info", description="ROS log level"),
    ]
    transport = PythonExpression(
        [
            "'compressed' if '",
            LaunchConfiguration("use_compressed"),
            "'.lower() == 'true' else 'raw'",
        ]
    )
    detector = Node(
        package="odet_ros",
        executable="detector_node",
        name="detector",
        namespace=LaunchConfiguration("namespace"),
        parameters=[
            LaunchConfiguration("params_file"),
            {"model": LaunchConfiguration("model"), "image_transport": transport},
        ],
        remappings=[("image", LaunchConfiguration("image_topic"))],
        arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level")],
        output="screen",
        emulate_tty=True,
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        name="rviz2",
        arguments=["-d", PathJoinSubstitution([share, "config", "odet.rviz"])],
        condition=IfCondition(LaunchConfiguration("rviz")),
        output="screen",
    )
    return LaunchDescription([*arguments, detector, rviz])
