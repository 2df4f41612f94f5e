"""detector_node and capture_node as managed (lifecycle) nodes, in process on a real ROS 2 graph:
every transition, outputs only while active, a failed configure and its retry, and the rclpy
pitfalls ManagedNode closes (a silent ERROR, an invalid request that ends the node, lifecycle
publishers left disabled). The same through `ros2 lifecycle` and launch: test_ros_lifecycle.py."""

import time
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("vision_msgs")
pytest.importorskip("onnxruntime")

from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from vision_msgs.msg import Detection2DArray  # noqa: E402

from odet_ros.bags import read_messages  # noqa: E402
from odet_ros.imaging import numpy_to_image  # noqa: E402
from odet_ros.nodes.capture_node import CaptureNode  # noqa: E402
from odet_ros.nodes.detector_node import DetectorNode  # noqa: E402

MODEL = Path(__file__).parent / "data" / "brightness_model.onnx"
SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE


@pytest.fixture
def ros():
    rclpy.init()
    tester = Node("lifecycle_test")
    executor = SingleThreadedExecutor()
    executor.add_node(tester)
    nodes = []

    def add(node):
        nodes.append(node)
        executor.add_node(node)
        return node

    yield tester, executor, add
    executor.shutdown()
    for node in nodes:
        node.destroy_node()
    tester.destroy_node()
    rclpy.try_shutdown()


def _spin(executor, condition=lambda: False, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        executor.spin_once(timeout_sec=0.05)
    return condition()


def _frame(sec: int) -> Image:
    header = Header(frame_id="camera_optical_frame")
    header.stamp.sec = sec
    return numpy_to_image(np.full((120, 160, 3), 230, np.uint8), "bgr8", header, Image)


def _detector(add, model=MODEL, **parameters) -> DetectorNode:
    overrides = [Parameter("model", value=str(model)), Parameter("lifecycle", value=True)]
    overrides += [Parameter(name, value=value) for name, value in parameters.items()]
    return add(DetectorNode(parameter_overrides=overrides))


def _feed(tester, executor, detector, received, frames=3):
    """Publish frames on `image` and spin; how many Detection2DArray came back."""
    publisher = tester.create_publisher(Image, "image", qos_profile_sensor_data)
    before = len(received)
    for sec in range(frames):
        publisher.publish(_frame(100 + sec))
        _spin(executor, timeout=0.3)
    _spin(executor, timeout=0.5)
    tester.destroy_publisher(publisher)
    return len(received) - before


def test_a_managed_detector_answers_only_while_active(ros):
    tester, executor, add = ros
    detector = _detector(add)
    received = []
    tester.create_subscription(Detection2DArray, "detections", received.append, 10)
    assert detector.state == "unconfigured"
    assert detector._worker is None  # nothing loaded before configure
    assert detector.trigger_configure() == SUCCESS and detector.state == "inactive"
    assert detector._worker.frames is not None  # the model is loaded and warmed up
    assert detector.count_subscribers("image") == 0  # no camera until activate
    assert detector.trigger_activate() == SUCCESS and detector.state == "active"
    assert _spin(executor, lambda: detector.count_subscribers("image") == 1)
    assert _feed(tester, executor, detector, received) > 0
    assert detector.trigger_deactivate() == SUCCESS and detector.state == "inactive"
    assert detector.count_subscribers("image") == 0
    assert detector._worker.frames is not None  # kept for a quick resume
    assert _feed(tester, executor, detector, received) == 0
    assert detector.trigger_activate() == SUCCESS
    assert _feed(tester, executor, detector, received) > 0
    assert detector.trigger_deactivate() == SUCCESS
    assert detector.trigger_cleanup() == SUCCESS and detector.state == "unconfigured"
    assert detector._worker is None
    assert detector.trigger_shutdown() == SUCCESS and detector.state == "finalized"


def test_release_on_deactivate_frees_the_model_and_activate_loads_it(ros):
    tester, executor, add = ros
    detector = _detector(add, release_on_deactivate=True)
    received = []
    tester.create_subscription(Detection2DArray, "detections", received.append, 10)
    assert detector.trigger_configure() == SUCCESS
    assert detector.trigger_activate() == SUCCESS
    assert detector.trigger_deactivate() == SUCCESS
    assert detector._worker.frames is None
    assert detector.trigger_activate() == SUCCESS
    assert detector._worker.frames is not None
    assert _feed(tester, executor, detector, received) > 0


def test_a_failed_configure_names_the_model_and_a_retry_after_param_set_works(ros, caplog):
    tester, executor, add = ros
    detector = _detector(add, model="/no/such/model.onnx")
    assert detector.trigger_configure() == FAILURE
    assert detector.state == "unconfigured"  # not ERROR: ready for another try
    assert "/no/such/model.onnx" in str(detector.transition_error)
    result = detector.set_parameters([Parameter("model", value=str(MODEL))])[0]
    assert result.successful  # taken for the next configure, not loaded now
    assert detector.trigger_configure() == SUCCESS and detector.state == "inactive"


def test_an_exception_in_a_transition_is_logged_and_fails_it(ros, monkeypatch):
    """rclpy turns it into ERROR without a word; ManagedNode logs it and answers FAILURE."""
    tester, executor, add = ros
    detector = _detector(add)
    assert detector.trigger_configure() == SUCCESS

    def broken() -> None:
        raise RuntimeError("a bug in activate")

    monkeypatch.setattr(detector, "activate", broken)
    assert detector.trigger_activate() == FAILURE
    assert detector.state == "inactive"
    assert "a bug in activate" in str(detector.transition_error)
    monkeypatch.undo()
    assert detector.trigger_activate() == SUCCESS  # the lifecycle publishers work again
    received = []
    tester.create_subscription(Detection2DArray, "detections", received.append, 10)
    assert _spin(executor, lambda: detector.count_subscribers("image") == 1)
    assert _feed(tester, executor, detector, received) > 0


def test_an_invalid_transition_request_is_refused_and_the_node_lives_on(ros):
    """rclpy raises inside its change_state service for a transition the state does not have
    (activate while unconfigured), which would end the node."""
    tester, executor, add = ros
    _detector(add)
    change = tester.create_client(ChangeState, "/detector/change_state")
    state = tester.create_client(GetState, "/detector/get_state")
    assert change.wait_for_service(timeout_sec=10)
    request = ChangeState.Request()
    request.transition.id = Transition.TRANSITION_ACTIVATE
    future = change.call_async(request)
    assert _spin(executor, future.done)
    assert future.result().success is False
    asked = state.call_async(GetState.Request())
    assert _spin(executor, asked.done)
    assert asked.result().current_state.label == "unconfigured"


def test_autostart_configures_and_activates_and_a_failure_leaves_the_node_up(ros):
    tester, executor, add = ros
    assert _detector(add, autostart=True).state == "active"
    broken = add(
        DetectorNode(
            parameter_overrides=[
                Parameter("model", value="/no/such/model.onnx"),
                Parameter("lifecycle", value=True),
                Parameter("autostart", value=True),
            ],
            namespace="/broken",
        )
    )
    assert broken.state == "unconfigured" and "/no/such" in str(broken.transition_error)


def test_a_self_starting_detector_fails_at_once_naming_the_model(ros):
    from odet_ros.errors import OdetError

    tester, executor, add = ros
    with pytest.raises(OdetError, match=r"/no/such/model\.onnx"):
        DetectorNode(parameter_overrides=[Parameter("model", value="/no/such/model.onnx")])


def test_a_managed_capture_records_while_active_and_closes_its_bag_on_deactivate(ros, tmp_path):
    tester, executor, add = ros
    capture = add(
        CaptureNode(
            parameter_overrides=[
                Parameter("lifecycle", value=True),
                Parameter("output_dir", value=str(tmp_path)),
                Parameter("image_topics", value=["image"]),
                Parameter("period", value=0.0),
                Parameter("duplicate_threshold", value=0.0),
            ]
        )
    )
    assert capture.recorder is None and not list(tmp_path.iterdir())
    assert capture.trigger_configure() == SUCCESS
    assert not list(tmp_path.iterdir())  # no session before activate
    assert capture.trigger_activate() == SUCCESS and capture.recorder.recording
    publisher = tester.create_publisher(Image, "image", qos_profile_sensor_data)
    assert _spin(executor, lambda: publisher.get_subscription_count() > 0)
    for sec in range(3):
        publisher.publish(_frame(10 + sec))
        _spin(executor, timeout=0.2)
    assert _spin(executor, lambda: capture.recorder.status()[0].counters.kept == 3)
    assert capture.trigger_deactivate() == SUCCESS and not capture.recorder.recording
    (bag,) = tmp_path.glob("capture_*/capture_*_0")
    assert (bag / "metadata.yaml").exists()  # closed, while the node lives on
    assert len(list(read_messages(bag, topics=["/image/compressed"]))) == 3
    assert capture.trigger_cleanup() == SUCCESS and capture.recorder is None
