"""detector_node on a real ROS 2 graph (runs where rclpy is installed, e.g. ROS 2 Humble).

The model is test/data/brightness_model.onnx: one box whose score is the image's mean
brightness, so a bright frame gives one detection and a dark frame none.
"""

import time
import uuid
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("vision_msgs")
pytest.importorskip("onnxruntime")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import (  # noqa: E402
    DurabilityPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from vision_msgs.msg import Detection2DArray  # noqa: E402

from odet_ros.imaging import numpy_to_image  # noqa: E402
from odet_ros.nodes.detector_node import DetectorNode  # noqa: E402

MODEL = Path(__file__).parent / "data" / "brightness_model.onnx"


@pytest.fixture
def graph():
    rclpy.init()
    detector = DetectorNode(
        parameter_overrides=[
            Parameter("model", value=str(MODEL)),
            Parameter("conf_threshold", value=0.5),
        ]
    )
    tester = Node("detector_test")
    executor = SingleThreadedExecutor()
    executor.add_node(detector)
    executor.add_node(tester)
    yield detector, tester, executor
    executor.shutdown()
    detector.destroy_node()
    tester.destroy_node()
    rclpy.try_shutdown()


def _spin_until(executor, condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        executor.spin_once(timeout_sec=0.05)
    return condition()


def _score(value: int) -> float:
    """What the brightness model scores a 160x120 frame of one grey value: the mean of its 64x64
    input, the frame letterboxed to 64x48 between two 8-row bands of the pad value 114."""
    return (48 * value + 16 * 114) / (64 * 255)


def _image(value: int, sec: int, short: bool = False) -> Image:
    header = Header(frame_id="camera_optical_frame")
    header.stamp.sec = sec
    header.stamp.nanosec = 7
    msg = numpy_to_image(np.full((120, 160, 3), value, np.uint8), "bgr8", header, Image)
    if short:
        msg.data = msg.data[:100]
    return msg


def _unknown_encoding(sec: int) -> Image:
    """A frame in an encoding no decoder knows, built by hand as a foreign driver would."""
    image = _image(230, sec)
    image.encoding = "no_such_encoding"
    return image


def _image_publisher(graph, *outputs):
    """A publisher on `image`, once discovery has matched it and the tester's `outputs`
    subscriptions to the detector (messages sent before that would be lost)."""
    detector, tester, executor = graph
    publisher = tester.create_publisher(Image, "image", qos_profile_sensor_data)
    assert _spin_until(
        executor,
        lambda: (
            publisher.get_subscription_count() > 0
            and all(detector.count_subscribers(topic) > 0 for topic in outputs)
        ),
    )
    return publisher


def _collect(tester, msg_type, topic, qos):
    received = []
    tester.create_subscription(msg_type, topic, received.append, qos)
    return received


def test_image_in_detections_out_with_the_same_header(graph):
    detector, tester, executor = graph
    detections = _collect(tester, Detection2DArray, "detections", 10)
    publisher = _image_publisher(graph, "detections")

    publisher.publish(_image(230, sec=42))
    assert _spin_until(executor, lambda: len(detections) >= 1)
    first = detections[0]
    assert (first.header.stamp.sec, first.header.stamp.nanosec) == (42, 7)
    assert first.header.frame_id == "camera_optical_frame"
    assert len(first.detections) == 1
    box = first.detections[0]
    assert box.results[0].hypothesis.class_id == "0"
    assert box.results[0].hypothesis.score == pytest.approx(_score(230), abs=0.005)
    assert box.bbox.center.position.x == pytest.approx(80.0, abs=0.5)
    assert box.bbox.center.position.y == pytest.approx(60.0, abs=0.5)
    assert box.bbox.size_x == pytest.approx(80.0, abs=0.5)

    publisher.publish(_image(20, sec=43))
    assert _spin_until(executor, lambda: len(detections) >= 2)
    assert detections[1].header.stamp.sec == 43
    assert len(detections[1].detections) == 0


def test_bad_frames_are_skipped_and_the_node_keeps_running(graph):
    detector, tester, executor = graph
    detections = _collect(tester, Detection2DArray, "detections", 10)
    publisher = _image_publisher(graph, "detections")
    publisher.publish(_image(230, sec=50, short=True))
    publisher.publish(_unknown_encoding(sec=51))
    _spin_until(executor, lambda: False, timeout=1.0)
    publisher.publish(_image(230, sec=52))
    assert _spin_until(executor, lambda: any(d.header.stamp.sec == 52 for d in detections))
    assert all(d.header.stamp.sec == 52 for d in detections)


def test_label_info_reaches_a_late_subscriber(graph):
    vision_msgs = pytest.importorskip("vision_msgs.msg")
    if not hasattr(vision_msgs, "LabelInfo"):
        pytest.skip("vision_msgs 4.0 has no LabelInfo")
    detector, tester, executor = graph
    _spin_until(executor, lambda: False, timeout=0.5)
    latched = QoSProfile(
        depth=1,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )
    labels = _collect(tester, vision_msgs.LabelInfo, "label_info", latched)
    assert _spin_until(executor, lambda: len(labels) >= 1)
    assert [(c.class_id, c.class_name) for c in labels[0].class_map] == [
        (0, "bright"),
        (1, "never"),
    ]


def test_annotated_image_is_published_while_subscribed(graph):
    detector, tester, executor = graph
    annotated = _collect(tester, Image, "image_annotated", 1)
    publisher = _image_publisher(graph, "image_annotated")
    publisher.publish(_image(230, sec=60))
    assert _spin_until(executor, lambda: len(annotated) >= 1)
    assert (annotated[0].width, annotated[0].height) == (160, 120)
    assert annotated[0].header.stamp.sec == 60


def test_invalid_parameters_are_rejected_and_valid_ones_apply(graph):
    detector, tester, executor = graph
    rejected = detector.set_parameters(
        [
            Parameter("conf_threshold", value=1.5),
            Parameter("class_id_format", value="number"),
            Parameter("tracker", value="sort"),
            Parameter("model", value="/nonexistent/model.onnx"),
            Parameter("classes", value=["unknown_class"]),
        ]
    )
    assert [r.successful for r in rejected] == [False] * 5
    assert "nonexistent" in rejected[3].reason
    assert detector.get_parameter("model").value == str(MODEL)

    accepted = detector.set_parameters(
        [Parameter("conf_threshold", value=0.8), Parameter("class_id_format", value="name")]
    )
    assert all(r.successful for r in accepted)
    assert _score(230) < 0.8 < _score(250)
    detections = _collect(tester, Detection2DArray, "detections", 10)
    publisher = _image_publisher(graph, "detections")
    publisher.publish(_image(230, sec=70))
    publisher.publish(_image(250, sec=71))
    assert _spin_until(executor, lambda: any(d.header.stamp.sec == 71 for d in detections))
    by_sec = {d.header.stamp.sec: d for d in detections}
    assert len(by_sec[71].detections) == 1
    assert by_sec[71].detections[0].results[0].hypothesis.class_id == "bright"
    if 70 in by_sec:
        assert len(by_sec[70].detections) == 0


def test_classes_start_unset_and_filter_once_set(graph):
    detector, tester, executor = graph
    detections = _collect(tester, Detection2DArray, "detections", 10)
    publisher = _image_publisher(graph, "detections")
    publisher.publish(_image(230, sec=85))  # no `classes` given: every class is kept
    assert _spin_until(executor, lambda: any(d.header.stamp.sec == 85 for d in detections))

    result = detector.set_parameters([Parameter("classes", value=["never"])])
    assert result[0].successful, result[0].reason
    publisher.publish(_image(230, sec=86))
    assert _spin_until(executor, lambda: any(d.header.stamp.sec == 86 for d in detections))
    by_sec = {d.header.stamp.sec: d for d in detections}
    assert len(by_sec[85].detections) == 1
    assert len(by_sec[86].detections) == 0  # the bright box is class 0, not "never"


def test_model_reload_at_run_time(graph, tmp_path):
    detector, tester, executor = graph
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(MODEL.read_bytes())
    result = detector.set_parameters(
        [Parameter("model", value=str(copy)), Parameter("busy_wait", value=False)]
    )
    assert all(r.successful for r in result), [r.reason for r in result]
    detections = _collect(tester, Detection2DArray, "detections", 10)
    publisher = _image_publisher(graph, "detections")
    publisher.publish(_image(230, sec=80))
    assert _spin_until(executor, lambda: len(detections) >= 1)
    assert len(detections[0].detections) == 1


def test_missing_model_stops_start_up_with_its_path():
    from odet_ros.errors import OdetError

    rclpy.init()
    try:
        with pytest.raises(OdetError, match="nonexistent"):
            DetectorNode(parameter_overrides=[Parameter("model", value="/nonexistent/m.onnx")])
    finally:
        rclpy.try_shutdown()


@pytest.mark.parametrize(
    ("name", "value"),
    [("class_id_format", "number"), ("qos_reliability", "sometimes"), ("backend", "tflite2")],
)
def test_a_bad_choice_stops_start_up_naming_the_parameter(name, value):
    from odet_ros.errors import OdetError

    rclpy.init()
    try:
        with pytest.raises(OdetError, match=f"{name} must be one of"):
            DetectorNode(
                parameter_overrides=[
                    Parameter("model", value=str(MODEL)),
                    Parameter(name, value=value),
                ]
            )
    finally:
        rclpy.try_shutdown()


def test_litert_names_the_tflite_backend():
    rclpy.init()
    try:
        node = DetectorNode(
            parameter_overrides=[
                Parameter("model", value=str(MODEL)),
                Parameter("backend", value="onnxruntime"),
            ]
        )
        result = node.set_parameters([Parameter("backend", value="litert")])[0]
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
    # accepted as a choice; the ONNX file itself is then refused by the LiteRT runtime
    assert not result.successful and "must be one of" not in result.reason


def test_label_info_carries_the_new_threshold(graph):
    vision_msgs = pytest.importorskip("vision_msgs.msg")
    detector, tester, executor = graph
    latched = QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
    )
    labels = _collect(tester, vision_msgs.LabelInfo, "label_info", latched)
    assert _spin_until(executor, lambda: len(labels) >= 1)
    assert labels[-1].threshold == pytest.approx(0.5)
    assert detector.set_parameters([Parameter("conf_threshold", value=0.7)])[0].successful
    assert _spin_until(executor, lambda: labels[-1].threshold == pytest.approx(0.7))


def test_auto_reliability_waits_for_a_publisher_and_matches_it():
    namespace = f"/auto_{uuid.uuid4().hex[:8]}"  # no publisher left over from other tests
    rclpy.init()
    detector = DetectorNode(
        namespace=namespace,
        parameter_overrides=[
            Parameter("model", value=str(MODEL)),
            Parameter("qos_reliability", value="auto"),
        ],
    )
    tester = Node("camera_like", namespace=namespace)
    executor = SingleThreadedExecutor()
    executor.add_node(detector)
    executor.add_node(tester)
    try:
        assert detector.count_subscribers(f"{namespace}/image") == 0  # nothing to match yet
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        publisher = tester.create_publisher(Image, "image", reliable)
        assert _spin_until(executor, lambda: publisher.get_subscription_count() > 0)

        def reliabilities():
            found = tester.get_subscriptions_info_by_topic(f"{namespace}/image")
            return [s.qos_profile.reliability for s in found]

        assert _spin_until(executor, lambda: reliabilities() == [ReliabilityPolicy.RELIABLE])
        detections = _collect(tester, Detection2DArray, "detections", 10)
        assert _spin_until(executor, lambda: detector.count_publishers("detections") > 0)
        publisher.publish(_image(230, sec=90))
        assert _spin_until(executor, lambda: len(detections) >= 1)
    finally:
        executor.shutdown()
        detector.destroy_node()
        tester.destroy_node()
        rclpy.try_shutdown()


def test_foxglove_annotations_carry_the_image_stamp_and_a_box_per_detection(graph):
    foxglove = pytest.importorskip("foxglove_msgs.msg")
    detector, tester, executor = graph
    annotations = _collect(tester, foxglove.ImageAnnotations, "detection_annotations", 10)
    detections = _collect(tester, Detection2DArray, "detections", 10)
    publisher = _image_publisher(graph, "detections", "detection_annotations")
    publisher.publish(_image(230, sec=60))
    assert _spin_until(executor, lambda: annotations and detections)
    (drawn,) = annotations
    (box,) = drawn.points
    assert (box.timestamp.sec, box.timestamp.nanosec) == (60, 7)  # Foxglove's sync key
    assert box.type == box.LINE_LOOP and len(box.points) == 4
    assert drawn.texts[0].text.startswith("bright ")


def test_without_foxglove_msgs_the_node_says_why_once_and_runs(monkeypatch, capfd):
    """A robot without ros-$ROS_DISTRO-foxglove-msgs: no annotations, the detections as before."""
    import sys

    monkeypatch.setitem(sys.modules, "foxglove_msgs", None)
    monkeypatch.setitem(sys.modules, "foxglove_msgs.msg", None)
    rclpy.init()
    try:
        detector = DetectorNode(parameter_overrides=[Parameter("model", value=str(MODEL))])
        topics = dict(detector.get_topic_names_and_types())
        assert "/detection_annotations" not in topics and "/detections" in topics
        detector.destroy_node()
    finally:
        rclpy.try_shutdown()
    assert capfd.readouterr().err.count("foxglove_msgs is not installed") == 1


def _multi_camera_graph(namespace: str, topics: list[str]):
    rclpy.init()
    detector = DetectorNode(
        namespace=namespace,
        parameter_overrides=[
            Parameter("model", value=str(MODEL)),
            Parameter("conf_threshold", value=0.5),
            Parameter("image_topics", value=topics),
        ],
    )
    tester = Node("multi_camera_test", namespace=namespace)
    executor = SingleThreadedExecutor()
    executor.add_node(detector)
    executor.add_node(tester)
    return detector, tester, executor


def _close(detector, tester, executor):
    executor.shutdown()
    detector.destroy_node()
    tester.destroy_node()
    rclpy.try_shutdown()


def test_three_cameras_through_one_node_each_answered_beside_its_images():
    from sensor_msgs.msg import CompressedImage

    from odet_ros.imaging import numpy_to_compressed

    ns = f"/cams_{uuid.uuid4().hex[:8]}"
    topics = [f"{ns}/front/image_raw", f"{ns}/rear/image_raw", f"{ns}/left/image_raw/compressed"]
    detector, tester, executor = _multi_camera_graph(ns, topics)
    try:
        received = {
            name: _collect(tester, Detection2DArray, f"{ns}/{name}/detections", 10)
            for name in ("front", "rear", "left")
        }
        front = tester.create_publisher(Image, topics[0], qos_profile_sensor_data)
        rear = tester.create_publisher(Image, topics[1], qos_profile_sensor_data)
        left = tester.create_publisher(CompressedImage, topics[2], qos_profile_sensor_data)

        def connected():
            heard = all(p.get_subscription_count() > 0 for p in (front, rear, left))
            return heard and all(
                detector.count_subscribers(f"{ns}/{n}/detections") for n in received
            )

        assert _spin_until(executor, connected)
        for sec in range(3):
            front.publish(_image(230, sec=100 + sec))
            rear_frame = _image(20, sec=200 + sec)
            rear_frame.header.frame_id = "rear_optical_frame"
            rear.publish(rear_frame)
            bright = _image(230, sec=300 + sec)
            left.publish(numpy_to_compressed(
                np.full((120, 160, 3), 230, np.uint8), bright.header, CompressedImage
            ))  # fmt: skip
            _spin_until(executor, lambda: False, timeout=0.2)
        assert _spin_until(executor, lambda: all(len(r) >= 3 for r in received.values()))
    finally:
        _close(detector, tester, executor)
    stamps = {name: {r.header.stamp.sec for r in found} for name, found in received.items()}
    assert stamps == {"front": {100, 101, 102}, "rear": {200, 201, 202}, "left": {300, 301, 302}}
    assert all(r.header.frame_id == "rear_optical_frame" for r in received["rear"])
    assert all(len(r.detections) == 1 for r in received["front"] + received["left"])
    assert all(len(r.detections) == 0 for r in received["rear"])  # dark: nothing, as sent


def test_a_silent_camera_and_a_bad_frame_leave_the_other_camera_answered():
    ns = f"/cams_{uuid.uuid4().hex[:8]}"
    topics = [f"{ns}/front/image_raw", f"{ns}/rear/image_raw"]
    detector, tester, executor = _multi_camera_graph(ns, topics)
    try:
        front = _collect(tester, Detection2DArray, f"{ns}/front/detections", 10)
        rear = _collect(tester, Detection2DArray, f"{ns}/rear/detections", 10)
        publishers = [tester.create_publisher(Image, t, qos_profile_sensor_data) for t in topics]
        assert _spin_until(executor, lambda: all(p.get_subscription_count() for p in publishers))
        assert _spin_until(executor, lambda: detector.count_subscribers(f"{ns}/front/detections"))
        publishers[1].publish(_image(230, sec=1, short=True))  # rear: one bad frame, then silence
        for sec in range(10, 15):
            publishers[0].publish(_image(230, sec=sec))
            _spin_until(executor, lambda: False, timeout=0.15)
        assert _spin_until(executor, lambda: len(front) >= 5)
    finally:
        _close(detector, tester, executor)
    assert [r.header.stamp.sec for r in front] == [10, 11, 12, 13, 14]
    assert rear == []


def test_frames_read_serialized_match_rclpys_own_messages():
    """The node reads frames in place from their CDR bytes (odet_ros.imaging.cdr): on this
    distro's serialization, the same fields and pixels as rclpy's deserialised message."""
    from rclpy.serialization import deserialize_message, serialize_message

    from odet_ros.imaging import image_to_numpy
    from odet_ros.nodes.camera_subscription import frame_decoder

    sent = _image(0, sec=-5)
    sent.data = np.arange(120 * 160 * 3, dtype=np.uint32).astype(np.uint8).tobytes()
    sent.header.frame_id = "front/camera_optical_frame"
    wire = serialize_message(sent)
    expected = deserialize_message(wire, Image)

    read = frame_decoder(compressed=False)(wire)

    assert read.header == expected.header
    fields = ("height", "width", "encoding", "is_bigendian", "step")
    assert [getattr(read, f) for f in fields] == [getattr(expected, f) for f in fields]
    np.testing.assert_array_equal(image_to_numpy(read), image_to_numpy(expected))


def test_malformed_serialized_frames_are_skipped_and_the_node_keeps_running(graph):
    """Bytes no Image serializes to (a frame_id longer than the message, a frame_id that is not
    UTF-8) reach the node as any frame does; each is a frame skipped, never a crash."""
    from rclpy.serialization import serialize_message

    detector, tester, executor = graph
    detections = _collect(tester, Detection2DArray, "detections", 10)
    publisher = _image_publisher(graph, "detections")
    wire = serialize_message(_image(230, sec=60))
    frame_id_length = wire[12:16]  # after the encapsulation header and the stamp
    assert frame_id_length == len("camera_optical_frame\0").to_bytes(4, "little")
    stats = detector._worker.stats["/image"]
    for bad in (wire[:12] + b"\xff\xff\xff\x7f" + wire[16:], wire[:16] + b"\xff\xfe" + wire[18:]):
        failed = stats.failed
        publisher.publish(bad)  # one at a time: the node keeps only a camera's newest frame
        assert _spin_until(executor, lambda: stats.failed > failed)  # noqa: B023
    publisher.publish(_image(230, sec=61))
    assert _spin_until(executor, lambda: any(d.header.stamp.sec == 61 for d in detections))
    assert all(d.header.stamp.sec == 61 for d in detections)
