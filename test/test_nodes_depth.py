"""detector_node's 3D step on a real ROS 2 graph: colour, aligned depth and CameraInfo from a test
publisher in, Detection3DArray and markers out, in the camera frame or a tf2 target frame.

The brightness model (test/data) boxes the middle of a bright frame: pixels (40, 20)-(120, 100)
of a 160x120 image. The depth image holds a cylinder filling that box, 1 m away."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytest.importorskip("vision_msgs")
pytest.importorskip("tf2_ros")

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TransformStamped
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest
from std_msgs.msg import Header
from tf2_ros import StaticTransformBroadcaster
from vision_msgs.msg import Detection3DArray
from visualization_msgs.msg import MarkerArray

from odet_ros.camera import CameraCalibration
from odet_ros.depth import Intrinsics
from odet_ros.imaging import numpy_to_image
from odet_ros.nodes.detector_node import DetectorNode
from odet_ros.sample.depth import Cylinder, Room, SensorModel, render_depth

MODEL = Path(__file__).parent / "data" / "brightness_model.onnx"
FRAME = "camera_optical_frame"
CAMERA = Intrinsics(fx=100.0, fy=100.0, cx=80.0, cy=60.0, width=160, height=120)
# The box's centre ray is the optical axis; a 0.8 m wide cylinder whose front is 1 m away.
TARGET = Cylinder(x=0.0, z=1.4, radius=0.4, top=-0.45, bottom=0.45)
HANG_GUARD = 20.0


def _spin_until(executor, condition, timeout=HANG_GUARD):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        executor.spin_once(timeout_sec=0.05)
    return condition()


@pytest.fixture
def graph():
    namespace = f"/depth_{uuid.uuid4().hex[:8]}"
    made = []

    def make(**parameters):
        rclpy.init()
        overrides = {"model": str(MODEL), "conf_threshold": 0.5, "depth_topic": "depth"}
        overrides.update(parameters)
        detector = DetectorNode(
            namespace=namespace,
            parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()],
        )
        tester = Node("depth_test", namespace=namespace)
        executor = SingleThreadedExecutor()
        executor.add_node(detector)
        executor.add_node(tester)
        made.append((executor, detector, tester))
        return detector, tester, executor

    yield make
    for executor, detector, tester in made:
        executor.shutdown()
        detector.destroy_node()
        tester.destroy_node()
    rclpy.try_shutdown()


def _header(sec: int) -> Header:
    header = Header(frame_id=FRAME)
    header.stamp.sec = sec
    return header


def _frames(sec: int, with_depth: bool = True):
    header = _header(sec)
    image = numpy_to_image(np.full((120, 160, 3), 230, np.uint8), "bgr8", header, Image)
    depth = render_depth(CAMERA, Room(wall=4.0, floor=None, objects=[TARGET]), SensorModel(0.002))
    depth_msg = numpy_to_image(depth, "32FC1", header, Image) if with_depth else None
    info = CameraCalibration.pinhole(160, 120, 100.0).to_message(
        header, CameraInfo, RegionOfInterest
    )
    return image, depth_msg, info


def _publish(tester, executor, topics_and_messages):
    publishers = [
        tester.create_publisher(type(msg), topic, qos_profile_sensor_data)
        for topic, msg in topics_and_messages
    ]
    assert _spin_until(executor, lambda: all(p.get_subscription_count() > 0 for p in publishers))
    _spin_until(executor, lambda: False, timeout=0.5)  # matched on both sides
    return publishers


def _run(graph_parameters, graph, expect_detections=True, with_depth=True):
    detector, tester, executor = graph(**graph_parameters)
    received: list[Detection3DArray] = []
    markers: list[MarkerArray] = []
    tester.create_subscription(Detection3DArray, "detections_3d", received.append, 10)
    tester.create_subscription(MarkerArray, "detection_markers", markers.append, 10)
    image, depth, info = _frames(7, with_depth)
    pairs = [("camera_info", info), ("image", image)] + ([("depth", depth)] if with_depth else [])
    publishers = _publish(tester, executor, pairs)
    assert _spin_until(executor, lambda: detector.count_publishers("detections_3d") >= 0)
    for _ in range(3):  # camera_info first, then depth and colour of the same stamp
        for publisher, (_, msg) in zip(publishers, pairs, strict=True):
            publisher.publish(msg)
        if _spin_until(executor, lambda: received, timeout=2.0 if expect_detections else 1.0):
            break
    return detector, tester, executor, received, markers


def test_a_frame_and_its_depth_give_a_located_detection(graph):
    detector, tester, executor, received, markers = _run({}, graph)
    first = received[0]
    assert (first.header.frame_id, first.header.stamp.sec) == (FRAME, 7)
    (box,) = first.detections
    position = box.bbox.center.position
    assert np.linalg.norm([position.x, position.y, position.z - TARGET.z]) < 0.05
    assert box.bbox.size.x == pytest.approx(0.8, abs=0.1)  # the 80 px box at 1 m
    assert box.results[0].hypothesis.class_id == "0"
    assert _spin_until(executor, lambda: markers)
    assert [m.action for m in markers[0].markers] == [3, 0, 0]


def test_a_target_frame_is_looked_up_with_tf2(graph):
    detector, tester, executor = graph(target_frame="base_link")
    broadcaster = StaticTransformBroadcaster(tester)
    transform = TransformStamped()
    transform.header.frame_id = "base_link"
    transform.child_frame_id = FRAME
    transform.transform.translation.x, transform.transform.translation.z = 0.1, 0.3
    rotation = transform.transform.rotation
    rotation.x, rotation.y, rotation.z, rotation.w = -0.5, 0.5, -0.5, 0.5
    broadcaster.sendTransform(transform)
    received: list[Detection3DArray] = []
    tester.create_subscription(Detection3DArray, "detections_3d", received.append, 10)
    image, depth, info = _frames(8)
    pairs = [("camera_info", info), ("depth", depth), ("image", image)]
    publishers = _publish(tester, executor, pairs)
    for _ in range(5):
        for publisher, (_, msg) in zip(publishers, pairs, strict=True):
            publisher.publish(msg)
        if _spin_until(executor, lambda: received, timeout=2.0):
            break
    assert received[0].header.frame_id == "base_link"
    position = received[0].detections[0].bbox.center.position
    # optical (0, 0, z) is base_link (0.1 + z, 0, 0.3)
    assert np.linalg.norm([position.x - 0.1 - TARGET.z, position.y, position.z - 0.3]) < 0.05


def test_frames_without_depth_keep_their_2d_detections_and_are_reported(graph):
    detector, tester, executor, received, _ = _run(
        {"depth_tolerance": 0.01}, graph, expect_detections=False, with_depth=False
    )
    assert received == []
    diagnostics: list[DiagnosticArray] = []
    tester.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)

    def depth_status():
        found = [s for d in diagnostics for s in d.status if s.name.endswith("3D positions")]
        return found[-1] if found else None

    assert _spin_until(executor, lambda: depth_status() is not None)
    assert depth_status().level == b"\x01" and "no depth frames" in depth_status().message


def test_unreadable_depth_bytes_are_skipped_counted_and_the_next_depth_frame_is_used(graph):
    """Depth frames are read from their serialized bytes: bytes that are no Image are a depth
    frame skipped and counted in /diagnostics, and the 3D step goes on with the next one."""
    from rclpy.serialization import serialize_message

    detector, tester, executor = graph()
    received: list[Detection3DArray] = []
    tester.create_subscription(Detection3DArray, "detections_3d", received.append, 10)
    diagnostics: list[DiagnosticArray] = []
    tester.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    image, depth, info = _frames(9)
    pairs = [("camera_info", info), ("depth", depth), ("image", image)]
    publishers = _publish(tester, executor, pairs)
    info_pub, depth_pub, image_pub = publishers
    info_pub.publish(info)
    wire = serialize_message(depth)
    length_at = len(wire) - len(depth.data) - 4  # the pixels' length, before them
    depth_pub.publish(wire[:length_at] + b"\xff\xff\xff\x7f" + wire[length_at + 4 :])

    def unreadable() -> int:
        found = [s for d in diagnostics for s in d.status if s.name.endswith("3D positions")]
        values = {v.key: v.value for v in found[-1].values} if found else {}
        return int(values.get("depth_frames_unreadable", 0))

    assert _spin_until(executor, lambda: unreadable() >= 1)
    for _ in range(3):
        depth_pub.publish(depth)
        image_pub.publish(image)
        if _spin_until(executor, lambda: received, timeout=2.0):
            break
    assert received[0].header.stamp.sec == 9 and len(received[0].detections) == 1
