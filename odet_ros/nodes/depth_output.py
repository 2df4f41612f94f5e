"""The 3D part of detector_node: wiring only (subscriptions, tf2, publishers, diagnostics).

Why inside the detector node rather than a node of its own: the 3D step needs each frame's
detections and stamp and costs a few percent of the inference, so doing it on the inference
thread, right after the 2D step, adds no topic hop and no second pairing of detections with
images, and keeps the newest-frame rule for both. The work itself is
:class:`odet_ros.runtime.depth_step.DepthStep`; depth frames wait in a
:class:`odet_ros.depth.DepthBuffer` until the colour frame with their stamp is answered. Depth
frames are taken serialized and read in place, as the colour frames are
(:func:`.camera_subscription.frame_decoder`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from rclpy.callback_groups import CallbackGroup
from rclpy.duration import Duration
from rclpy.lifecycle import LifecycleNode
from rclpy.qos import qos_profile_sensor_data
from rclpy.subscription import Subscription
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from tf2_ros import Buffer, TransformException, TransformListener

from odet_ros.depth import DepthBuffer, DepthError, DepthOptions, Transform
from odet_ros.imaging import ImageConversionError
from odet_ros.interfaces import stamp_to_ns
from odet_ros.interfaces.diagnostics import Status
from odet_ros.interfaces.topics import is_compressed_depth
from odet_ros.messages.spatial import SpatialMsgClasses
from odet_ros.messages.vision import ClassIdFormat
from odet_ros.nodes.camera_subscription import frame_decoder
from odet_ros.runtime.cameras import Camera
from odet_ros.runtime.depth_step import DepthStep
from odet_ros.runtime.frame_detector import FrameResult
from odet_ros.runtime.health import depth_health
from odet_ros.runtime.inference import Frame

TF_TIMEOUT_S = 0.05


class DepthOutput:
    """Pairs depth with the detector's frames and publishes ``detections_3d`` and
    ``detection_markers`` (the markers only while something subscribes)."""

    def __init__(self, node: LifecycleNode, options: DepthOptions, camera: Camera) -> None:
        """``options`` with topics resolved, for ``camera`` (its CameraInfo is beside its image
        topic unless the options name one; the outputs go where the camera's go). Publishers
        are made here (the node's configure), subscriptions by :meth:`subscribe` (its
        activate)."""
        self._node = node
        self._options = options
        self._info_topics = options.info_topics(camera.topic)
        self._step = DepthStep(SpatialMsgClasses.from_ros(), options.settings)
        self._buffer: DepthBuffer[Frame] = DepthBuffer()
        compressed = is_compressed_depth(options.depth_topic)
        self._depth_type = CompressedImage if compressed else Image
        self._decode = frame_decoder(compressed)
        self._lock = threading.Lock()  # counts: written by the worker, read by the timer
        self._counts: Counter[str] = Counter()
        self._subscriptions: list[Subscription] = []
        self._calibrated = threading.Event()  # the colour CameraInfo has arrived
        classes = self._step.classes
        self._detections_pub = node.create_lifecycle_publisher(
            classes.Detection3DArray, camera.output("detections_3d"), 10
        )
        self._markers_pub = node.create_lifecycle_publisher(
            classes.MarkerArray, camera.output("detection_markers"), 10
        )
        self._tf: Buffer | None = None
        if options.target_frame:
            self._tf = Buffer()
            self._tf_listener = TransformListener(self._tf, node)
        color_info, _ = self._info_topics
        node.get_logger().info(
            f"3D: depth {options.depth_topic} with {color_info}, in"
            f" {options.target_frame or 'the camera frame'}"
        )

    def subscribe(self, group: CallbackGroup) -> None:
        """Listen to depth and both CameraInfo topics (the node's activate)."""
        color_info, depth_info = self._info_topics
        for msg_type, topic, callback in (
            (self._depth_type, self._options.depth_topic, self._on_depth),
            (CameraInfo, color_info, self._on_camera_info),
            (CameraInfo, depth_info, self._on_depth_info),
        ):
            self._subscriptions.append(
                self._node.create_subscription(
                    msg_type,
                    topic,
                    callback,
                    qos_profile_sensor_data,
                    callback_group=group,
                    raw=msg_type is self._depth_type,
                )
            )

    def unsubscribe(self) -> None:
        for subscription in self._subscriptions:
            self._node.destroy_subscription(subscription)
        self._subscriptions.clear()

    def destroy(self) -> None:
        """Free the publishers (the node's cleanup)."""
        self.unsubscribe()
        self._node.destroy_lifecycle_publisher(self._detections_pub)
        self._node.destroy_lifecycle_publisher(self._markers_pub)

    def _on_depth(self, serialized: bytes) -> None:
        try:
            msg = self._decode(serialized)
        except ImageConversionError as error:
            self._count("unreadable")
            self._node.get_logger().warn(
                f"{self._options.depth_topic}: depth frame skipped: {error}",
                throttle_duration_sec=5.0,
            )
            return
        self._buffer.put(stamp_to_ns(msg.header.stamp), msg)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        if self._take_info(self._step.set_camera_info, msg):
            self._calibrated.set()

    def _on_depth_info(self, msg: CameraInfo) -> None:
        self._take_info(self._step.set_depth_info, msg)

    def _take_info(self, setter: Callable[[CameraInfo], None], msg: CameraInfo) -> bool:
        try:
            setter(msg)
        except DepthError as error:  # an uncalibrated camera: say so, keep running
            self._node.get_logger().warn(str(error), throttle_duration_sec=10.0)
            return False
        return True

    def on_frame(
        self, result: FrameResult, header: Header, names: list[str], class_id_format: ClassIdFormat
    ) -> None:
        """Locate and publish one answered frame (on the inference thread)."""
        tolerance = self._options.tolerance_s
        depth = self._buffer.nearest(stamp_to_ns(header.stamp), int(tolerance * 1e9), tolerance)
        if depth is None:
            self._count("missing")
            return
        self._calibrated.wait(tolerance)  # a driver's first CameraInfo can land after its image
        try:
            output_header, transform = self._output_frame(header)
            located = self._step.process(
                result.detections,
                names,
                header,
                depth,
                class_id_format=class_id_format,
                output_header=output_header,
                transform=transform,
            )
        except DepthError as error:
            self._count("failed")
            self._node.get_logger().warn(
                f"no 3D for this frame: {error}", throttle_duration_sec=5.0
            )
            return
        warning = self._step.pop_warning()
        if warning:
            self._node.get_logger().warn(warning)
        self._count("paired")
        self._detections_pub.publish(located.detections)
        if self._markers_pub.get_subscription_count() > 0:
            self._markers_pub.publish(located.markers())

    def _output_frame(self, header: Header) -> tuple[Header | None, Transform | None]:
        """The target frame's header and the transform into it at the image's stamp."""
        if self._tf is None:
            return None, None
        target = self._options.target_frame
        try:
            stamped = self._tf.lookup_transform(
                target, header.frame_id, Time.from_msg(header.stamp), Duration(seconds=TF_TIMEOUT_S)
            )
        except TransformException as error:
            raise DepthError(f"no transform from {header.frame_id} to {target}: {error}") from None
        return Header(stamp=header.stamp, frame_id=target), Transform.from_msg(stamped.transform)

    def _count(self, what: str) -> None:
        with self._lock:
            self._counts[what] += 1

    def status(self, name: str, hardware_id: str) -> Status:
        """/diagnostics of the 3D step since the start."""
        with self._lock:
            paired, missing, failed, unreadable = (
                self._counts[k] for k in ("paired", "missing", "failed", "unreadable")
            )
        level, message = depth_health(paired, missing, failed, self._buffer.received, unreadable)
        values = {
            "depth_topic": self._options.depth_topic,
            "depth_frames_received": str(self._buffer.received),
            "depth_frames_unreadable": str(unreadable),
            "frames_with_depth": str(paired),
            "frames_without_depth": str(missing),
            "frames_failed": str(failed),
        }
        return Status(level, name, message, hardware_id, values)
