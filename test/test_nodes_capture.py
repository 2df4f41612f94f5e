"""capture_node on ROS 2 (Humble and later): services, parameters, diagnostics, signals.

Skipped where rclpy is missing; the logic underneath is tested without ROS in
test_capture_recorder.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")

from builtin_interfaces.msg import Time  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from support.sampling import blurred, noisy_copy, scene  # noqa: E402

from odet_ros.bags import read_messages  # noqa: E402
from odet_ros.imaging import compressed_to_numpy, numpy_to_image  # noqa: E402
from odet_ros.nodes.capture_node import CaptureNode  # noqa: E402

HANG_GUARD = 30.0  # seconds: fails a test that would otherwise hang, never a speed check

STREAM = [  # frame, kept?
    (scene(1), True),
    (noisy_copy(scene(1), 10), False),
    (blurred(scene(2)), False),
    (scene(2), True),
    (noisy_copy(scene(2), 11), False),
    (scene(3), True),
]


@pytest.fixture
def context():
    context = Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


@pytest.fixture
def namespace() -> str:
    return f"/odet_test_{uuid.uuid4().hex[:8]}"


def spin_until(executor, condition) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        executor.spin_once(timeout_sec=0.05)


def image(pixels, index: int) -> Image:
    stamp = Time(sec=100 + index // 10, nanosec=(index % 10) * 100_000_000)
    header = Header(stamp=stamp, frame_id="cam")
    return numpy_to_image(pixels, "bgr8", header, Image)


class Rig:
    """A capture node and a helper node publishing frames and calling services."""

    def __init__(self, context, namespace: str, output_dir: Path, **overrides) -> None:
        self.topic = f"{namespace}/cam/image"
        parameters = {
            "image_topics": [self.topic],
            "output_dir": str(output_dir),
            "period": 0.0,
            "blur_threshold": 200.0,
            "duplicate_threshold": 4.0,
            "record_on_start": False,
            "min_free_disk_mb": 0.0,
            "status_period": 0.2,
            **overrides,
        }
        self.node = CaptureNode(
            context=context,
            namespace=namespace,
            parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()],
        )
        self.helper = rclpy.create_node("helper", context=context, namespace=namespace)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.helper)
        self.publisher = self.helper.create_publisher(Image, self.topic, qos_profile_sensor_data)
        self.services = f"{namespace}/capture_node"
        spin_until(self.executor, lambda: self.publisher.get_subscription_count() > 0)

    def call(self, service: str) -> Trigger.Response:
        client = self.helper.create_client(Trigger, f"{self.services}/{service}")
        assert client.wait_for_service(timeout_sec=HANG_GUARD)
        future = client.call_async(Trigger.Request())
        spin_until(self.executor, future.done)
        return future.result()

    def deliver(self, msg: Image) -> None:
        """Publish until the recorder has seen the frame (best effort may drop one)."""
        counters = self.node.recorder.status()[0].counters
        before = counters.seen
        deadline = time.monotonic() + HANG_GUARD
        while counters.seen == before:
            assert time.monotonic() < deadline, "frame never arrived"
            self.publisher.publish(msg)
            for _ in range(10):
                self.executor.spin_once(timeout_sec=0.02)
                if counters.seen != before:
                    break

    def close(self) -> None:
        self.executor.shutdown()
        self.helper.destroy_node()
        self.node.destroy_node()


@pytest.fixture
def rig(context, namespace, tmp_path):
    rig = Rig(context, namespace, tmp_path)
    yield rig
    rig.close()


def test_start_stream_stop_leaves_a_bag_with_the_kept_frames(rig, tmp_path):
    info_publisher = rig.helper.create_publisher(
        CameraInfo, rig.topic.replace("/image", "/camera_info"), qos_profile_sensor_data
    )
    info = CameraInfo(width=320, height=240, distortion_model="plumb_bob")
    info.k = [500.0, 0.0, 160.0, 0.0, 500.0, 120.0, 0.0, 0.0, 1.0]
    camera = rig.node.recorder.cameras[rig.topic]

    def calibration_arrived() -> bool:
        info_publisher.publish(info)
        return camera.calibration is not None

    spin_until(rig.executor, calibration_arrived)

    response = rig.call("start")
    assert response.success and str(tmp_path) in response.message
    for index, (pixels, _) in enumerate(STREAM):
        rig.deliver(image(pixels, index))
    response = rig.call("stop")
    assert response.success

    (session,) = tmp_path.glob("capture_*")
    messages = list(read_messages(sorted(session.iterdir())))
    frames = [m for m in messages if m.topic == f"{rig.topic}/compressed"]
    infos = [m for m in messages if m.topic == rig.topic.replace("/image", "/camera_info")]
    assert len(frames) == sum(kept for _, kept in STREAM)
    assert len(infos) == 1 and infos[0].msg.k[0] == 500.0
    kept = [pixels for pixels, keep in STREAM if keep]
    for message, pixels in zip(frames, kept, strict=True):
        assert abs(compressed_to_numpy(message.msg, "bgr8").astype(int) - pixels).mean() < 4
    counters = rig.node.recorder.status()[0].counters
    assert (counters.kept, counters.blurred, counters.duplicate) == (3, 1, 2)


def test_snapshot_while_stopped_keeps_one_frame(rig, tmp_path):
    assert rig.call("snapshot").success
    rig.deliver(image(blurred(scene(4)), 0))
    assert not rig.node.recorder.recording
    rig.call("stop")
    (session,) = tmp_path.glob("capture_*")
    assert len(list(read_messages(sorted(session.iterdir())))) == 1


def test_thresholds_change_at_run_time_and_bad_values_are_refused(rig):
    (result,) = rig.node.set_parameters([Parameter("duplicate_threshold", value=50.0)])
    assert result.successful
    assert rig.node.recorder.status()[0].settings.duplicate_threshold == 50.0
    (result,) = rig.node.set_parameters([Parameter("period", value=-1.0)])
    assert not result.successful
    (result,) = rig.node.set_parameters([Parameter("image_topics", value=["/other"])])
    assert not result.successful
    assert rig.node.recorder.status()[0].settings.period == 0.0


def test_diagnostics_report_the_counters(rig):
    received: list[DiagnosticArray] = []
    rig.helper.create_subscription(DiagnosticArray, "/diagnostics", received.append, 10)
    rig.call("start")
    rig.deliver(image(scene(1), 0))

    def reported() -> bool:
        return any(
            status.hardware_id == rig.topic and status.values
            for array in received
            for status in array.status
        )

    spin_until(rig.executor, reported)
    status = next(s for a in received for s in a.status if s.hardware_id == rig.topic)
    values = {kv.key: kv.value for kv in status.values}
    assert {"seen", "kept", "blurred", "duplicate", "too_soon"} <= values.keys()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_closes_the_bag_cleanly(context, namespace, tmp_path, signum):
    topic = f"{namespace}/cam/image"
    child = subprocess.Popen(
        [
            sys.executable, "-m", "odet_ros.nodes.capture_node", "--ros-args",
            "-r", f"__ns:={namespace}",
            "-p", f"image_topics:=['{topic}']",
            "-p", f"output_dir:={tmp_path}",
            "-p", "duplicate_threshold:=0.0",
            "-p", "flush_period:=60.0",
            "-p", "min_free_disk_mb:=0.0",
        ],
        env=os.environ.copy(),
    )  # fmt: skip
    helper = rclpy.create_node("publisher", context=context, namespace=namespace)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(helper)
    publisher = helper.create_publisher(Image, topic, qos_profile_sensor_data)
    try:
        spin_until(executor, lambda: publisher.get_subscription_count() > 0)
        index = 0

        def published_into_a_bag() -> bool:
            nonlocal index
            index += 1
            publisher.publish(image(scene(index), index))
            return any(tmp_path.glob("capture_*/capture_*_0/*.mcap")) and index > 20

        spin_until(executor, published_into_a_bag)
        child.send_signal(signum)
        assert child.wait(timeout=HANG_GUARD) == 0
    finally:
        if child.poll() is None:
            child.kill()
        helper.destroy_node()
    (part,) = tmp_path.glob("capture_*/capture_*_0")
    assert (part / "metadata.yaml").is_file()  # closed, not merely flushed (flush_period 60 s)
    assert len(list(read_messages([part]))) >= 1


def test_select_on_two_cameras_pairs_each_with_the_detections_beside_it(
    context, namespace, tmp_path
):
    """Two cameras, one detector serving both (its outputs beside each camera's images): each
    camera's frames pair with its own detections, and the records name the camera kept."""
    from vision_msgs.msg import Detection2DArray

    cameras = [f"{namespace}/front/image_raw", f"{namespace}/rear/image_raw"]
    node = CaptureNode(
        context=context,
        namespace=namespace,
        parameter_overrides=[
            Parameter("image_topics", value=cameras),
            Parameter("output_dir", value=str(tmp_path)),
            Parameter("select", value="novel"),
            Parameter("min_free_disk_mb", value=0.0),
            Parameter("duplicate_threshold", value=0.0),
        ],
    )
    helper = rclpy.create_node("helper", context=context, namespace=namespace)
    executor = SingleThreadedExecutor(context=context)
    for member in (node, helper):
        executor.add_node(member)
    try:
        images = [helper.create_publisher(Image, c, qos_profile_sensor_data) for c in cameras]
        answers = [
            helper.create_publisher(Detection2DArray, c.rsplit("/", 1)[0] + "/detections", 10)
            for c in cameras
        ]
        spin_until(executor, lambda: all(p.get_subscription_count() for p in images + answers))
        for index, pixels in enumerate((scene(1), scene(2), scene(3))):
            for camera, (frames, boxes) in enumerate(zip(images, answers, strict=True)):
                frame = image(pixels if camera == 0 else scene(10 + index), 2 * index + camera)
                frames.publish(frame)
                boxes.publish(Detection2DArray(header=frame.header))
            for _ in range(20):
                executor.spin_once(timeout_sec=0.02)
        selecting = node.selecting
        spin_until(executor, lambda: all(
            c.selector.counts.seen == 3 for c in selecting.cameras.values()
        ))  # fmt: skip
    finally:
        executor.shutdown()
        helper.destroy_node()
        node.destroy_node()
    (bag,) = sorted(tmp_path.glob("capture_*/capture_*_0"))
    records = [m.msg.data for m in read_messages(bag, topics=["/odet/selection"])]
    kept = {topic: sum(f'"topic": "{topic}' in r for r in records) for topic in cameras}
    assert all(count >= 1 for count in kept.values()), (kept, records[:2])


def test_bytes_that_are_no_image_are_an_unusable_frame_and_recording_goes_on(rig, tmp_path):
    """Frames are taken serialized: bytes no Image serializes to (a pixel count past the end)
    are counted as unusable, and the next frame is kept."""
    from rclpy.serialization import serialize_message

    camera = rig.node.recorder.cameras[rig.topic]
    rig.call("start")
    good = image(scene(1), 0)
    wire = serialize_message(good)
    length_at = len(wire) - len(good.data) - 4  # the pixels' length, before them
    bad = wire[:length_at] + b"\xff\xff\xff\x7f" + wire[length_at + 4 :]

    def rejected() -> bool:
        rig.publisher.publish(bad)
        return camera.invalid > 0

    spin_until(rig.executor, rejected)
    rig.deliver(good)
    rig.call("stop")
    assert rig.node.recorder.status()[0].counters.kept == 1
    (session,) = tmp_path.glob("capture_*")
    assert len(list(read_messages(sorted(session.iterdir())))) == 1
