"""camera_node on ROS 2 (Humble and later): frames from an image folder, start-up errors.

Skipped where rclpy is missing; sources and calibration are tested without ROS in
test_camera_sources.py and test_camera_calibration.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import CameraInfo, CompressedImage, Image  # noqa: E402
from support.calibration import OST_YAML  # noqa: E402

from odet_ros.errors import OdetError  # noqa: E402
from odet_ros.imaging import compressed_to_numpy, image_to_numpy  # noqa: E402
from odet_ros.nodes.camera_node import CameraNode  # noqa: E402

RELIABLE = ReliabilityPolicy.RELIABLE
HANG_GUARD = 30.0  # seconds: fails a test that would otherwise hang, never a speed check
LEVELS = [40, 120, 200]


@pytest.fixture
def context():
    context = Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    for index, level in enumerate(LEVELS):
        cv2.imwrite(str(images / f"{index:03d}.png"), np.full((48, 64, 3), level, np.uint8))
    return images


def test_publishes_an_image_folder_with_camera_info(context, folder, tmp_path):
    ost = tmp_path / "ost.yaml"
    ost.write_text(OST_YAML)
    namespace = f"/odet_test_{uuid.uuid4().hex[:8]}"
    overrides = {
        "source": str(folder),
        "fps": 20.0,
        "loop": True,
        "frame_id": "front",
        "encoding": "rgb8",
        "publish_compressed": True,
        "camera_info_url": f"file://{ost}",
    }
    node = CameraNode(
        context=context,
        namespace=namespace,
        parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()],
    )
    helper = rclpy.create_node("listener", context=context, namespace=namespace)
    images: list[Image] = []
    infos: list[CameraInfo] = []
    compressed: list[CompressedImage] = []
    reliable: list[Image] = []  # as rviz's Image display and most C++ nodes subscribe
    helper.create_subscription(Image, "image_raw", images.append, qos_profile_sensor_data)
    helper.create_subscription(
        Image, "image_raw", reliable.append, QoSProfile(depth=5, reliability=RELIABLE)
    )
    helper.create_subscription(CameraInfo, "camera_info", infos.append, qos_profile_sensor_data)
    helper.create_subscription(
        CompressedImage, "image_raw/compressed", compressed.append, qos_profile_sensor_data
    )
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(helper)
    deadline = time.monotonic() + HANG_GUARD
    try:
        while len(images) < 6 or not infos or not compressed or not reliable:
            assert time.monotonic() < deadline, "camera_node published too little"
            executor.spin_once(timeout_sec=0.05)
    finally:
        executor.shutdown()
        node.destroy_node()
        helper.destroy_node()

    levels = [int(image_to_numpy(msg).mean()) for msg in images[:6]]
    start = LEVELS.index(levels[0])
    assert levels == [LEVELS[(start + i) % 3] for i in range(6)]  # name order, looping
    assert all((m.encoding, m.width, m.height) == ("rgb8", 64, 48) for m in images)
    assert all(m.header.frame_id == "front" for m in images)
    assert infos[0].k[0] == 615.12 and infos[0].distortion_model == "plumb_bob"
    assert infos[0].header.frame_id == "front"
    assert int(compressed_to_numpy(compressed[0], "bgr8").mean()) in [
        level + delta for level in LEVELS for delta in (-1, 0, 1)
    ]


def test_missing_source_is_a_clear_error(context):
    with pytest.raises(OdetError, match="/no/such/camera"):
        CameraNode(
            context=context, parameter_overrides=[Parameter("source", value="/no/such/camera")]
        )


def test_missing_source_exits_non_zero_without_a_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "odet_ros.nodes.camera_node", "--ros-args", "-p",
         "source:=/no/such/video.mp4"],
        capture_output=True, text=True, timeout=HANG_GUARD, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "/no/such/video.mp4" in output and "Traceback" not in output


def test_a_finite_folder_ends_the_node_cleanly(folder):
    result = subprocess.run(
        [sys.executable, "-m", "odet_ros.nodes.camera_node", "--ros-args", "-p",
         f"source:={folder}", "-p", "fps:=30.0"],
        capture_output=True, text=True, timeout=HANG_GUARD, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "end of image folder" in result.stdout + result.stderr
