"""What differs between Humble and Jazzy for a robot user, as the README's "What differs on
Jazzy" says it, checked on the distro the ROS profile runs (CI runs it on both): the discovery
variable, the storage `ros2 bag record` writes by default, and the parameters every node has.
Runs where ROS 2 is installed (the test command's ROS profile)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

pytest.importorskip("rclpy")
pytest.importorskip("launch_ros")

from std_msgs.msg import String
from support.ros import BUNDLE_NAME, Launched, Listener

from odet_ros.bags import read_messages

pytestmark = pytest.mark.slow  # starts ROS 2 processes (seconds each)

DEFAULT_STORAGE = {"humble": "sqlite3", "jazzy": "mcap"}
DEPRECATED = "ROS_LOCALHOST_ONLY is deprecated"


def _distro(ros_env: dict[str, str]) -> str:
    distro = ros_env["ROS_DISTRO"]
    assert distro in DEFAULT_STORAGE, f"the README does not cover ROS 2 {distro}"
    return distro


def test_ros2_bag_record_writes_the_distros_default_storage_and_odet_reads_it(ros_env, tmp_path):
    """The README: Jazzy records mcap by default, Humble sqlite3 (record.launch.py passes -s mcap
    on both); odet reads either."""
    bag = tmp_path / "chatter"
    with Listener() as listener:
        publisher = listener.publisher(String, "/odet_chatter")
        with Launched(
            ["ros2", "bag", "record", "/odet_chatter", "-o", str(bag)],
            ros_env,
            tmp_path / "rec.log",
        ) as record:
            assert listener.wait_until(lambda: publisher.get_subscription_count() > 0)
            for index in range(5):
                publisher.publish(String(data=f"message {index}"))
                listener.wait_until(lambda: False, timeout=0.1)
            listener.wait_until(lambda: False, timeout=1.0)
            assert record.stop() == 0, record.output()
    metadata = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert metadata["storage_identifier"] == DEFAULT_STORAGE[_distro(ros_env)]
    assert [m.msg.data for m in read_messages(bag)] == [f"message {i}" for i in range(5)]


def _node_output(tmp_path: Path, env: dict[str, str]) -> str:
    """A detector node's log over its first seconds, started as `ros2 run` does."""
    model = f"model:={BUNDLE_NAME}"
    command = ["ros2", "run", "odet_ros", "detector_node", "--ros-args", "-p", model]
    with Launched(command, env, tmp_path / "node.log") as node:
        assert node.wait_for_output("subscribed to"), node.output()
        assert node.stop() == 0, node.output()
        return node.output()


def test_the_discovery_variable_the_readme_gives_is_the_distros_own(ros_env, tmp_path):
    """Jazzy deprecates ROS_LOCALHOST_ONLY (rcl warns on every node) for
    ROS_AUTOMATIC_DISCOVERY_RANGE; Humble knows only ROS_LOCALHOST_ONLY."""
    variables = ("ROS_LOCALHOST_ONLY", "ROS_AUTOMATIC_DISCOVERY_RANGE")
    plain = {name: value for name, value in ros_env.items() if name not in variables}
    humble_way = {**plain, "ROS_LOCALHOST_ONLY": "1"}
    if _distro(ros_env) == "jazzy":
        jazzy_way = {**plain, "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
        assert DEPRECATED not in _node_output(tmp_path, jazzy_way)
        assert DEPRECATED in _node_output(tmp_path, humble_way)
    else:
        assert DEPRECATED not in _node_output(tmp_path, humble_way)


def test_ros_adds_parameters_the_readme_names_and_no_others(ros_env):
    """`ros2 param list` of a bare node: what ROS declares on every node (Jazzy adds
    start_type_description_service), which the README tells apart from odet's."""
    added = {
        "humble": ["use_sim_time"],
        "jazzy": ["start_type_description_service", "use_sim_time"],
    }
    listed: list[str] = []

    def listing() -> bool:
        done = subprocess.run(
            ["ros2", "param", "list", "/bare_node", "--no-daemon"],
            env=ros_env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        listed[:] = [line.strip() for line in done.stdout.splitlines() if line.startswith("  ")]
        return bool(listed)

    with Listener("bare_node") as listener:
        assert listener.wait_until(listing), "ros2 param list never found /bare_node"
    assert listed == added[_distro(ros_env)]
