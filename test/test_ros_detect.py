"""Detection on a real ROS 2, as a robot user runs it: `ros2 launch odet_ros detect.launch.py`
fed by `ros2 bag play` and by camera.launch.py over real DDS, watched by a listener node and by
`ros2 param` / `ros2 topic`. Runs where ROS 2 is installed (the test command's ROS profile).

The model is the brightness test model installed as the bundle ``bright`` (see support/ros.py):
one box per frame scored by the frame's mean brightness."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("rclpy")
pytest.importorskip("launch_ros")
pytest.importorskip("vision_msgs")

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import (
    DurabilityPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from support.ros import BUNDLE_NAME, ROOT, Launched, Listener, play_paused, resume
from vision_msgs.msg import Detection2DArray, Detection3DArray, LabelInfo
from visualization_msgs.msg import MarkerArray

from odet_ros.bags import read_messages
from odet_ros.imaging import numpy_to_image
from odet_ros.launching.rviz import rviz_config
from odet_ros.sample.recording import write_sample
from odet_ros.sample.scene import SampleConfig

pytestmark = pytest.mark.slow  # every test runs `ros2 launch` (seconds each)

FRAMES = 8
LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """A short sample recording: raw, compressed and CameraInfo topics, as a robot records."""
    out = tmp_path_factory.mktemp("sample")
    config = SampleConfig(segments=1, frames_per_segment=FRAMES)
    return write_sample(out, config, progress=False).bag


def _detect(ros_env, tmp_path: Path, *arguments: str) -> Launched:
    command = ["ros2", "launch", "odet_ros", "detect.launch.py", f"model:={BUNDLE_NAME}"]
    return Launched([*command, *arguments], ros_env, tmp_path / "detect.log")


def _ros2(ros_env, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ros2", *arguments, "--no-daemon"] if arguments[0] == "topic" else ["ros2", *arguments],
        env=ros_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _headers(bag: Path, topic: str) -> list[tuple[int, int, str]]:
    return [
        (m.msg.header.stamp.sec, m.msg.header.stamp.nanosec, m.msg.header.frame_id)
        for m in read_messages(bag, topics=[topic])
    ]


def _header(msg) -> tuple[int, int, str]:
    return (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id)


def _connected(listener: Listener, image_topic: str, output: str = "/detections") -> bool:
    """The detector subscribes to ``image_topic`` (or any other input) and the listener hears
    its ``output``."""
    node = listener.node
    return listener.wait_until(
        lambda: node.count_subscribers(image_topic) > 0 and node.count_publishers(output) > 0
    )


@pytest.mark.parametrize(
    ("use_compressed", "topic"),
    [("false", "/camera/image_raw"), ("true", "/camera/image_raw/compressed")],
)
def test_a_played_bag_gives_one_detection_array_per_frame_with_its_header(
    ros_env, tmp_path, recording, use_compressed, topic
):
    with (
        _detect(ros_env, tmp_path, f"use_compressed:={use_compressed}") as detect,
        Listener() as listener,
    ):
        detections = listener.subscribe(Detection2DArray, "/detections", RELIABLE)
        assert _connected(listener, topic), detect.output()
        with play_paused(ros_env, tmp_path, recording, topic) as play:
            resume(listener, topic)
            assert play.wait() == 0, play.output()
        expected = _headers(recording, topic)
        received = lambda: sorted(_header(d) for d in detections)  # noqa: E731
        assert listener.wait_until(lambda: len(detections) >= len(expected)), (
            f"{received()} != {expected}\n{detect.output()}"
        )
        assert detect.stop() == 0
    assert sorted(_header(d) for d in detections) == sorted(expected)
    assert all(d.detections[0].bbox.size_x > 0 for d in detections if d.detections)
    assert "Traceback" not in detect.output()


def test_a_played_rgbd_bag_gives_3d_detections_per_frame(ros_env, tmp_path, recording):
    """The sample's colour, CameraInfo and aligned depth through `ros2 bag play`, with
    detect.launch.py depth_topic:=...: one Detection3DArray per frame, the image's header."""
    depth = "/camera/aligned_depth_to_color/image_raw"
    with (
        _detect(ros_env, tmp_path, f"depth_topic:={depth}") as detect,
        Listener() as listener,
    ):
        arrays = listener.subscribe(Detection3DArray, "/detections_3d", RELIABLE)
        markers = listener.subscribe(MarkerArray, "/detection_markers", RELIABLE)
        assert _connected(listener, depth, output="/detections_3d"), detect.output()
        topics = ("/camera/image_raw", "/camera/camera_info", depth)
        with play_paused(ros_env, tmp_path, recording, *topics) as play:
            resume(listener, depth)
            assert play.wait() == 0, play.output()
        expected = _headers(recording, "/camera/image_raw")
        assert listener.wait_until(lambda: len(arrays) >= len(expected)), detect.output()
        assert detect.stop() == 0
    assert sorted(_header(a) for a in arrays) == sorted(expected)
    assert all(len(a.detections) == 1 for a in arrays)  # the brightness model's one box
    assert len(markers) == len(arrays)
    assert "Traceback" not in detect.output()


def test_label_info_parameters_and_diagnostics_while_running(ros_env, tmp_path):
    with _detect(ros_env, tmp_path) as detect, Listener() as listener:
        assert detect.wait_for_output("subscribed to /camera/image_raw"), detect.output()
        assert f"{BUNDLE_NAME}" in detect.output() and "score threshold" in detect.output()
        labels = listener.subscribe(LabelInfo, "/label_info", LATCHED)  # late joiner
        diagnostics = listener.subscribe(DiagnosticArray, "/diagnostics", 10)
        assert listener.wait_until(lambda: labels)
        assert [(c.class_id, c.class_name) for c in labels[0].class_map] == [
            (0, "bright"),
            (1, "never"),
        ]
        assert listener.wait_until(
            lambda: any(s.name.endswith("object detection") for d in diagnostics for s in d.status)
        )
        status = next(s for d in diagnostics for s in d.status if "object detection" in s.name)
        assert status.level == b"\x01" and status.message == "no images received"

        # thresholds and the model itself change while the node runs
        changed = _ros2(ros_env, "param", "set", "/detector", "conf_threshold", "0.9")
        assert "Set parameter successful" in changed.stdout, changed.stdout + changed.stderr
        assert listener.wait_until(lambda: labels[-1].threshold == pytest.approx(0.9))
        assert detect.wait_for_output("score threshold 0.9 (conf_threshold)"), detect.output()
        refused = _ros2(ros_env, "param", "set", "/detector", "class_id_format", "number")
        assert "must be one of" in refused.stdout + refused.stderr
        model = ROOT / "test" / "data" / "brightness_model.onnx"
        reloaded = _ros2(ros_env, "param", "set", "/detector", "model", str(model))
        assert "Set parameter successful" in reloaded.stdout, reloaded.stdout + reloaded.stderr
        assert detect.wait_for_output(f"reloaded: model {model} on onnxruntime"), detect.output()
        missing = _ros2(ros_env, "param", "set", "/detector", "model", "/no/such/model.onnx")
        assert "/no/such/model.onnx" in missing.stdout + missing.stderr
        assert detect.stop() == 0
    assert "Traceback" not in detect.output()


def _frame(sec: int, value: int = 230) -> Image:
    header = Header(frame_id="camera_optical_frame")
    header.stamp.sec = sec
    return numpy_to_image(np.full((120, 160, 3), value, np.uint8), "bgr8", header, Image)


def test_reliable_and_best_effort_cameras_are_both_heard(ros_env, tmp_path):
    """The default subscription is best effort: it hears drivers of either kind; the outputs are
    reliable, so a reliable subscriber (rviz, C++ nodes) hears them."""
    with _detect(ros_env, tmp_path) as detect, Listener() as listener:
        detections = listener.subscribe(Detection2DArray, "/detections", RELIABLE)
        reliable = listener.publisher(Image, "/camera/image_raw", 10)
        best_effort = listener.publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
        for publisher in (reliable, best_effort):
            assert listener.wait_until(lambda p=publisher: p.get_subscription_count() > 0)
        assert listener.wait_until(lambda: listener.node.count_publishers("/detections") > 0)
        listener.wait_until(lambda: False, timeout=0.5)  # both sides of discovery settle
        reliable.publish(_frame(101))
        listener.wait_until(lambda: len(detections) >= 1, timeout=5)
        best_effort.publish(_frame(102))
        assert listener.wait_until(lambda: {d.header.stamp.sec for d in detections} >= {101, 102})
        assert detect.stop() == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_inference_stops_the_node_cleanly(
    colcon_install, ros_env, tmp_path, recording, signum
):
    executable = colcon_install / "odet_ros" / "lib" / "odet_ros" / "detector_node"
    command = [str(executable), "--ros-args", "-p", f"model:={BUNDLE_NAME}",
               "-r", "image:=/camera/image_raw"]  # fmt: skip
    with (
        Launched(command, ros_env, tmp_path / "detector.log") as detector,
        Listener() as listener,
    ):
        detections = listener.subscribe(Detection2DArray, "/detections", RELIABLE)
        assert _connected(listener, "/camera/image_raw"), detector.output()
        play = ["ros2", "bag", "play", str(recording), "--loop", "--rate", "10",
                "--topics", "/camera/image_raw"]  # fmt: skip
        with Launched(play, ros_env, tmp_path / "play.log") as player:
            assert listener.wait_until(lambda: len(detections) >= 5), detector.output()
            assert detector.stop(signum) == 0, detector.output()
            player.stop()
    assert "Traceback" not in detector.output()
    # rclpy's executor destroyed its guard condition under a callback still running
    assert "never retrieved" not in detector.output()


def _rviz_topics(namespace: str) -> tuple[set[str], str]:
    """What detect.launch.py rviz:=true shows with the launch's defaults (no depth)."""
    prefix = f"/{namespace}" if namespace else ""
    template = yaml.safe_load((ROOT / "config" / "odet.rviz").read_text())
    config = rviz_config(template, f"{prefix}/camera/image_raw", f"{prefix}/", depth=False)
    manager = config["Visualization Manager"]
    topics = {d["Topic"]["Value"] for d in manager["Displays"] if "Topic" in d}
    return topics, manager["Global Options"]["Fixed Frame"]


@pytest.mark.parametrize("namespace", ["", "robot1"])
def test_the_launch_files_defaults_connect(ros_env, tmp_path, namespace):
    """camera.launch.py -> detect.launch.py -> what config/odet.rviz shows, with no remapping;
    on a namespaced robot the same with namespace:= arguments only."""
    images = tmp_path / "images"
    images.mkdir()
    for index in range(3):
        cv2.imwrite(str(images / f"{index}.png"), np.full((120, 160, 3), 200 + index, np.uint8))
    prefix = f"/{namespace}" if namespace else ""
    camera_args = [f"source:={images}", "loop:=true", "fps:=10.0"]
    detect_args = []
    if namespace:
        camera_args.append(f"namespace:={namespace}/camera")
        detect_args.append(f"namespace:={namespace}")
    camera_log = tmp_path / "camera.log"
    with (
        Launched(["ros2", "launch", "odet_ros", "camera.launch.py", *camera_args], ros_env,
                 camera_log) as camera_launch,
        _detect(ros_env, tmp_path, *detect_args) as detect,
        Listener() as listener,
    ):  # fmt: skip
        annotated = listener.subscribe(Image, f"{prefix}/image_annotated", RELIABLE)
        camera = listener.subscribe(Image, f"{prefix}/camera/image_raw", RELIABLE)
        detections = listener.subscribe(Detection2DArray, f"{prefix}/detections", RELIABLE)
        assert listener.wait_until(lambda: annotated and detections and camera), detect.output()
        assert detect.stop() == 0 and camera_launch.stop() == 0
    rviz_topics, fixed_frame = _rviz_topics(namespace)
    assert rviz_topics == {f"{prefix}/camera/image_raw", f"{prefix}/image_annotated"}
    assert detections[0].header.frame_id == annotated[0].header.frame_id == fixed_frame
    assert (annotated[0].width, annotated[0].height) == (160, 120)


def test_every_bag_odet_writes_is_played_and_echoed_by_ros2(ros_env, tmp_path, recording):
    out = tmp_path / "replay"
    replay = subprocess.run(
        [sys.executable, "-m", "odet_ros.cli.main", "detect", BUNDLE_NAME, str(recording),
         "--topic", "/camera/image_raw", "--out", str(out), "--annotated", "topic"],
        env=ros_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert replay.returncode == 0, replay.stdout + replay.stderr
    detections_bag = out / "detections_bag"
    for bag in (recording, detections_bag):
        info = _ros2(ros_env, "bag", "info", str(bag))
        assert info.returncode == 0 and "Messages:" in info.stdout, info.stderr
    with Listener() as listener:
        received = listener.subscribe(Detection2DArray, "/detections", RELIABLE)
        echo = Launched(
            ["ros2", "topic", "echo", "--once", "/detections", "vision_msgs/msg/Detection2DArray"],
            ros_env,
            tmp_path / "echo.log",
        )
        with (
            echo,
            play_paused(ros_env, tmp_path, detections_bag, "/detections", "/image_annotated"),
        ):
            resume(listener, "/detections")
            assert listener.wait_until(lambda: len(received) >= 1)
            assert echo.wait() == 0, echo.output()
    assert "class_id:" in echo.output() and "frame_id: camera_optical_frame" in echo.output()


@pytest.fixture(scope="module")
def two_cameras(tmp_path_factory) -> Path:
    """A bag of two cameras, as a robot with a front and a rear camera records them: the front
    bright (one detection a frame), the rear dark (none), stamps of their own."""
    from odet_ros.bags import BagWriter, make_typestore
    from odet_ros.interfaces import make_header

    typestore = make_typestore("humble")
    image_type = typestore.types["sensor_msgs/msg/Image"]
    bag = tmp_path_factory.mktemp("two") / "two_cameras"
    with BagWriter(bag) as writer:
        for topic in ("/front/image_raw", "/rear/image_raw"):
            writer.add_topic(topic, "sensor_msgs/msg/Image", "reliable")
        for index in range(FRAMES):
            for topic, value, offset in (("/front/image_raw", 230, 0), ("/rear/image_raw", 20, 7)):
                stamp = 1_700_000_000_000_000_000 + index * 66_666_666 + offset * 1_000_000
                header = make_header(typestore, stamp, topic.split("/")[1] + "_optical_frame")
                pixels = np.full((120, 160, 3), value, np.uint8)
                writer.write(topic, stamp, numpy_to_image(pixels, "bgr8", header, image_type))
    return bag


def test_one_node_answers_a_played_two_camera_bag_with_each_cameras_own_headers(
    ros_env, tmp_path, two_cameras
):
    cameras = ["/front/image_raw", "/rear/image_raw"]
    arguments = [f"image_topics:={cameras}".replace(" ", "")]
    with (
        _detect(ros_env, tmp_path, *arguments) as detect,
        Listener() as listener,
    ):
        front = listener.subscribe(Detection2DArray, "/front/detections", RELIABLE)
        rear = listener.subscribe(Detection2DArray, "/rear/detections", RELIABLE)
        assert _connected(listener, cameras[1], output="/rear/detections"), detect.output()
        with play_paused(ros_env, tmp_path, two_cameras, *cameras) as play:
            resume(listener, cameras[1])
            assert play.wait() == 0, play.output()
        assert listener.wait_until(lambda: len(front) >= FRAMES and len(rear) >= FRAMES), (
            detect.output()
        )
        assert detect.stop() == 0
    assert sorted(_header(d) for d in front) == _headers(two_cameras, cameras[0])
    assert sorted(_header(d) for d in rear) == _headers(two_cameras, cameras[1])
    assert all(len(d.detections) == 1 for d in front)
    assert all(len(d.detections) == 0 for d in rear)
    assert detect.output().count("loaded") <= 1  # one model for both cameras


def test_a_segmentation_model_publishes_a_mask_image_beside_each_detection_array(
    ros_env, tmp_path, tiny_seg_models
):
    """The tiny segmentation model (ONNX) through detect.launch.py: one mono16 instance_masks
    image per frame while something subscribes, with the frame's header and size, each pixel the
    index of its detection in that frame's Detection2DArray + 1, inside the detection's box."""
    model = tiny_seg_models.model("seg.onnx")
    command = ["ros2", "launch", "odet_ros", "detect.launch.py", f"model:={model}"]
    frames = []
    for index, path in enumerate(tiny_seg_models.images, start=1):
        header = Header(frame_id="camera_optical_frame")
        header.stamp.sec = index
        frames.append(numpy_to_image(cv2.imread(str(path)), "bgr8", header, Image))
    with Launched(command, ros_env, tmp_path / "detect.log") as detect, Listener() as listener:
        detections = listener.subscribe(Detection2DArray, "/detections", RELIABLE)
        masks = listener.subscribe(Image, "/instance_masks", RELIABLE)
        camera = listener.publisher(Image, "/camera/image_raw", 10)
        assert listener.wait_until(
            lambda: (
                camera.get_subscription_count() > 0
                and listener.node.count_publishers("/instance_masks") > 0
            )
        ), detect.output()
        listener.wait_until(lambda: False, timeout=0.5)  # both sides of discovery settle
        for count, frame in enumerate(frames, start=1):  # one at a time: none is dropped
            camera.publish(frame)
            assert listener.wait_until(lambda c=count: len(masks) >= c), detect.output()
        assert detect.stop() == 0
    arrays = {d.header.stamp.sec: d for d in detections}
    assert sorted(m.header.stamp.sec for m in masks) == sorted(arrays) == list(range(1, 6))
    found = 0
    for mask, frame in zip(sorted(masks, key=lambda m: m.header.stamp.sec), frames, strict=True):
        array = arrays[mask.header.stamp.sec]
        assert mask.header.frame_id == array.header.frame_id == "camera_optical_frame"
        assert (mask.encoding, mask.height, mask.width) == ("mono16", frame.height, frame.width)
        labels = np.frombuffer(bytes(mask.data), np.uint16).reshape(mask.height, mask.width)
        assert labels.max() == len(array.detections)
        for index, detection in enumerate(array.detections):
            rows, columns = np.nonzero(labels == index + 1)
            box = detection.bbox
            assert len(rows) and abs(columns - box.center.position.x).max() <= box.size_x / 2 + 1
            assert abs(rows - box.center.position.y).max() <= box.size_y / 2 + 1
            found += 1
    assert found >= len(frames)
    assert "Traceback" not in detect.output()
