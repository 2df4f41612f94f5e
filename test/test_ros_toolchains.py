"""YOLOv5's and TensorFlow's detectors through the detector node on a real ROS 2, as a team runs
the model it brings: `odet deploy` of the bare file with its labels, `ros2 launch odet_ros
detect.launch.py model:=<bundle>`, `ros2 bag play` of the parity images, and a listener that
holds every Detection2DArray to the tool's own predictions (boxes within 1 px, same classes,
scores within 1e-3), as test_toolchain_models does for the library.

The ROS profile has neither torch nor TensorFlow: the models and the tools' predictions come
from the cache the workstation profile builds (support/toolchains.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import yaml

pytest.importorskip("rclpy")
pytest.importorskip("launch_ros")
pytest.importorskip("vision_msgs")

from rclpy.qos import QoSProfile, ReliabilityPolicy
from support.detection import assert_same
from support.models import NAMES
from support.ros import Launched, Listener, play_paused, resume
from support.toolchains import LABELMAP, REFERENCE_IOU, YOLOV5_MODELS, conf_for
from vision_msgs.msg import Detection2DArray

from odet_ros.bags import BagWriter, make_typestore
from odet_ros.imaging import numpy_to_image
from odet_ros.interfaces import make_header
from odet_ros.messages.vision import detections_from_msg

pytestmark = pytest.mark.slow  # `ros2 launch` per model

TOPIC = "/camera/image_raw"
PERIOD_NS = 500_000_000  # between frames: inference keeps up, no frame is dropped
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
# one file of each family the node meets: YOLOv5's anchor head in ONNX and in int8 TFLite
# (uint8 input), TensorFlow's post-processed SSD with uint8 input
MODELS = ("yolov5.onnx", "yolov5-int8.tflite", "ssd_uint8.tflite")


@pytest.fixture(scope="module")
def parity_bag(toolchain_models, tmp_path_factory) -> Path:
    """The parity images (four sizes) as one camera topic, the n-th frame stamped n s / 2."""
    bag = tmp_path_factory.mktemp("parity") / "parity_bag"
    typestore = make_typestore("humble")
    image_type = typestore.types["sensor_msgs/msg/Image"]
    with BagWriter(bag) as writer:
        writer.add_topic(TOPIC, "sensor_msgs/msg/Image")
        for index, path in enumerate(toolchain_models.images, start=1):
            stamp = index * PERIOD_NS
            header = make_header(typestore, stamp, "camera_optical_frame")
            image = numpy_to_image(cv2.imread(str(path)), "bgr8", header, image_type)
            writer.write(TOPIC, stamp, image)
    return bag


def _deploy(ros_env, toolchain_models, name: str, tmp_path: Path) -> Path:
    """The bare file made a bundle as docs/bring-your-own-model.md says: odet deploy FILE
    --labels labelmap.txt."""
    models = tmp_path / "models"
    command = [sys.executable, "-m", "odet_ros.cli.main", "deploy",
               str(toolchain_models.model(name)), "--into", str(models),
               "--labels", str(toolchain_models.model(LABELMAP))]  # fmt: skip
    deployed = subprocess.run(
        command, env=ros_env, capture_output=True, text=True, timeout=120, check=False
    )
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    return models / Path(name).stem


def _params(tmp_path: Path, name: str) -> Path:
    """The thresholds the tool's predictions were made at."""
    values = {"conf_threshold": conf_for(name), "iou_threshold": REFERENCE_IOU}
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"/**": {"ros__parameters": values}}))
    return params


@pytest.mark.parametrize("name", MODELS)
def test_the_node_publishes_what_the_tool_finds(
    ros_env, toolchain_models, parity_bag, tmp_path, name
):
    bundle = _deploy(ros_env, toolchain_models, name, tmp_path)
    command = ["ros2", "launch", "odet_ros", "detect.launch.py", f"model:={bundle}",
               f"params_file:={_params(tmp_path, name)}"]  # fmt: skip
    images = toolchain_models.images
    with (
        Launched(command, ros_env, tmp_path / "detect.log") as detect,
        Listener() as listener,
    ):
        arrays = listener.subscribe(Detection2DArray, "/detections", RELIABLE)
        node = listener.node
        assert listener.wait_until(
            lambda: node.count_subscribers(TOPIC) > 0 and node.count_publishers("/detections") > 0
        ), detect.output()
        with play_paused(ros_env, tmp_path, parity_bag, TOPIC) as play:
            resume(listener, TOPIC)
            assert play.wait() == 0, play.output()
        assert listener.wait_until(lambda: len(arrays) >= len(images)), detect.output()
        assert detect.stop() == 0
    assert "Traceback" not in detect.output()
    reference = toolchain_models.reference(YOLOV5_MODELS.get(name, name))
    by_stamp = {a.header.stamp.sec * 10**9 + a.header.stamp.nanosec: a for a in arrays}
    assert sorted(by_stamp) == [i * PERIOD_NS for i in range(1, len(images) + 1)]
    found = 0
    for index, path in enumerate(images, start=1):
        ours = detections_from_msg(by_stamp[index * PERIOD_NS], NAMES)
        assert_same(ours, reference[path.name], f"{name} on {path.name}", px=1.0, score=1e-3)
        found += len(ours)
    assert found >= 3
