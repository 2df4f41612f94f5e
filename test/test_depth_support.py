"""The depth step's transform (checked against a known tf), colour-depth pairing by stamp, and
the Detection3DArray / MarkerArray it publishes."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from odet_ros.bags import make_typestore
from odet_ros.depth import DepthBuffer, DepthError, Intrinsics, Transform, locate_objects
from odet_ros.detection.types import Detections
from odet_ros.interfaces import make_header
from odet_ros.messages.spatial import SpatialMsgClasses, detections3d_to_msg, markers_msg
from odet_ros.sample.depth import Cylinder, Room, SensorModel, render_depth

# base_link <- camera_optical_frame of a camera 30 cm up and 10 cm forward, looking ahead:
# optical z (forward) is base x, optical x (right) is base -y, optical y (down) is base -z.
OPTICAL_TO_BASE = Transform(translation=(0.1, 0.0, 0.3), rotation=(-0.5, 0.5, -0.5, 0.5))
TYPESTORE = make_typestore("humble")
CAMERA = Intrinsics(fx=600.0, fy=600.0, cx=319.5, cy=239.5, width=640, height=480)


def test_a_known_tf_maps_the_optical_axes_onto_the_robot():
    points = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    moved = OPTICAL_TO_BASE.apply(points)
    np.testing.assert_allclose(
        moved, [[1.1, 0.0, 0.3], [0.1, -1.0, 0.3], [0.1, 0.0, -0.7]], atol=1e-9
    )
    assert np.allclose(OPTICAL_TO_BASE.matrix() @ OPTICAL_TO_BASE.matrix().T, np.eye(3))
    with pytest.raises(DepthError, match="unit quaternion"):
        Transform(rotation=(0.0, 0.0, 0.0, 2.0))


def test_transform_from_a_transform_message():
    types = TYPESTORE.types
    msg = types["geometry_msgs/msg/Transform"](
        translation=types["geometry_msgs/msg/Vector3"](x=0.1, y=0.0, z=0.3),
        rotation=types["geometry_msgs/msg/Quaternion"](x=-0.5, y=0.5, z=-0.5, w=0.5),
    )
    assert Transform.from_msg(msg) == OPTICAL_TO_BASE


def test_the_nearest_depth_within_the_tolerance_is_paired():
    buffer: DepthBuffer[str] = DepthBuffer(capacity=3)
    for stamp in (100, 200, 300, 400):
        buffer.put(stamp, f"depth@{stamp}")
    assert buffer.nearest(290, tolerance_ns=20) == "depth@300"
    assert buffer.nearest(250, tolerance_ns=20) is None  # 50 ns from both neighbours
    assert buffer.nearest(100, tolerance_ns=20) is None  # dropped: only the last 3 are kept
    assert buffer.received == 4 and buffer.newest_stamp() == 400


def test_a_depth_frame_arriving_after_its_colour_frame_is_waited_for():
    buffer: DepthBuffer[str] = DepthBuffer()
    buffer.put(1_000, "old")
    late = threading.Timer(0.05, lambda: buffer.put(2_000, "late"))
    late.start()
    started = time.monotonic()
    assert buffer.nearest(2_000, tolerance_ns=10, wait_s=5.0) == "late"
    assert time.monotonic() - started < 5.0  # woken by its arrival, not by the time-out
    assert buffer.nearest(3_000, tolerance_ns=10, wait_s=0.01) is None  # none came: give up


def located_scene():
    cans = [Cylinder(x=0.1, z=1.0, radius=0.033, top=0.2, bottom=0.32),
            Cylinder(x=-0.2, z=1.5, radius=0.04, top=0.0, bottom=0.3)]  # fmt: skip
    depth = render_depth(CAMERA, Room(objects=cans), SensorModel(0.0025, 0.05))
    boxes = np.vstack([cans[0].box(CAMERA), [[700.0, 0.0, 720.0, 20.0]], cans[1].box(CAMERA)])
    detections = Detections.from_arrays(boxes, np.array([0.9, 0.8, 0.7]), np.array([2, 0, 1]))
    return cans, detections, locate_objects(boxes, depth, CAMERA)


def test_detection3d_array_holds_the_located_detections_and_reads_back():
    cans, detections, objects = located_scene()
    header = make_header(TYPESTORE, 1_500_000_000, "camera_color_optical_frame")
    classes = SpatialMsgClasses.from_typestore(TYPESTORE)
    names = ["plastic_bottle", "paper_cup", "drink_can"]
    msg = detections3d_to_msg(detections, objects, names, header, classes, class_id_format="name")
    kind = "vision_msgs/msg/Detection3DArray"
    read = TYPESTORE.deserialize_cdr(TYPESTORE.serialize_cdr(msg, kind), kind)
    assert read.header.frame_id == "camera_color_optical_frame"
    assert [d.results[0].hypothesis.class_id for d in read.detections] == ["drink_can", "paper_cup"]
    for detection, can in zip(read.detections, cans, strict=True):
        position = detection.bbox.center.position
        assert (
            np.linalg.norm([position.x - can.x, position.y - can.center[1], position.z - can.z])
            < 0.02
        )
        assert detection.bbox.size.x == pytest.approx(2 * can.radius, abs=0.01)
        covariance = detection.results[0].pose.covariance
        assert covariance[14] > covariance[0] > 0  # along the view less sure than across


def test_a_target_frame_moves_the_boxes_and_turns_their_axes():
    cans, detections, objects = located_scene()
    header = make_header(TYPESTORE, 0, "base_link")
    classes = SpatialMsgClasses.from_typestore(TYPESTORE)
    msg = detections3d_to_msg(detections, objects, ["a", "b", "c"], header, classes,
                              transform=OPTICAL_TO_BASE)  # fmt: skip
    first = msg.detections[0].bbox.center
    expected = OPTICAL_TO_BASE.apply(np.array([cans[0].center]))[0]
    assert np.linalg.norm([first.position.x, first.position.y, first.position.z] - expected) < 0.02
    assert (first.orientation.x, first.orientation.w) == (-0.5, 0.5)


def test_markers_clear_the_last_frame_then_draw_a_box_and_a_label_each():
    _, detections, objects = located_scene()
    header = make_header(TYPESTORE, 0, "camera_color_optical_frame")
    classes = SpatialMsgClasses.from_typestore(TYPESTORE)
    msg = markers_msg(detections, objects, ["a", "b", "c"], header, classes, lifetime_s=0.5)
    kind = "visualization_msgs/msg/MarkerArray"
    read = TYPESTORE.deserialize_cdr(TYPESTORE.serialize_cdr(msg, kind), kind)
    actions = [(m.action, m.type) for m in read.markers]
    assert actions == [(3, 1), (0, 1), (0, 9), (0, 1), (0, 9)]  # DELETEALL, CUBE + TEXT twice
    assert read.markers[2].text.startswith("c 0.90 ") and read.markers[2].text.endswith(" m")
    assert read.markers[1].lifetime.nanosec == 500_000_000 and read.markers[1].color.a < 1
