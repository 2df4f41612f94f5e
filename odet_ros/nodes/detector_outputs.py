"""The 2D outputs of detector_node: its lifecycle publishers and what goes out on each.

Per camera, beside its image topic (or under the node's namespace for the single camera):
``detections`` (vision_msgs/Detection2DArray) on every frame; ``image_annotated`` and
``detection_annotations`` (foxglove_msgs/ImageAnnotations, for Foxglove's Image panel) only
while something subscribes, as they cost a drawing or a message per box. Once per node:
``label_info``, latched (transient local) for late joiners. foxglove_msgs is optional: without it
the node says once why there are no annotations and runs as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rclpy.lifecycle import LifecycleNode
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from odet_ros.messages import VisionMsgClasses, label_info_msg
from odet_ros.messages.foxglove import FoxgloveMsgClasses, image_annotations_msg
from odet_ros.nodes.qos import LATCHED
from odet_ros.runtime.cameras import Camera
from odet_ros.runtime.frame_detector import FrameDetector, FrameResult
from odet_ros.runtime.inference import Frame

ONE_FRAME = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)


class _CameraOutputs:
    def __init__(
        self,
        node: LifecycleNode,
        camera: Camera,
        vision: VisionMsgClasses,
        foxglove: FoxgloveMsgClasses | None,
    ) -> None:
        publish = node.create_lifecycle_publisher
        self.detections = publish(vision.Detection2DArray, camera.output("detections"), 10)
        self.annotated = publish(Image, camera.output("image_annotated"), ONE_FRAME)
        self.annotations = None
        if foxglove is not None:
            self.annotations = publish(
                foxglove.ImageAnnotations, camera.output("detection_annotations"), ONE_FRAME
            )

    def all(self) -> list[Any]:
        return [p for p in (self.detections, self.annotated, self.annotations) if p is not None]


class DetectorOutputs:
    """Made on configure, destroyed on cleanup; publishes only while the node is active."""

    def __init__(
        self, node: LifecycleNode, vision: VisionMsgClasses, cameras: Sequence[Camera]
    ) -> None:
        self._node = node
        self._vision = vision
        self._foxglove = FoxgloveMsgClasses.from_ros()
        if self._foxglove is None:
            node.get_logger().info(
                "foxglove_msgs is not installed: no detection_annotations for Foxglove"
                " (apt install ros-$ROS_DISTRO-foxglove-msgs)",
                once=True,
            )
        self._cameras = {c.topic: _CameraOutputs(node, c, vision, self._foxglove) for c in cameras}
        self._labels = None
        if vision.LabelInfo is None:
            node.get_logger().warning(
                "this vision_msgs has no LabelInfo (added in 4.1): label_info is not published;"
                " class names are only in the model bundle",
                once=True,
            )
        else:
            self._labels = node.create_lifecycle_publisher(vision.LabelInfo, "label_info", LATCHED)

    def wants_annotated(self, camera: str) -> bool:
        return bool(self._cameras[camera].annotated.get_subscription_count() > 0)

    def publish(
        self, camera: str, result: FrameResult, frame: Frame, frames: FrameDetector
    ) -> None:
        """One answered frame of ``camera`` (on the inference thread)."""
        outputs = self._cameras[camera]
        outputs.detections.publish(result.message)
        if result.annotated is not None:
            outputs.annotated.publish(result.annotated)
        annotations = outputs.annotations
        if annotations is not None and annotations.get_subscription_count() > 0:
            assert self._foxglove is not None
            names = frames.detector.names
            annotations.publish(
                image_annotations_msg(result.detections, names, frame.header, self._foxglove)
            )

    def publish_label_info(self, frames: FrameDetector) -> None:
        """The class names and threshold of the model now loaded."""
        if self._labels is None:
            return
        header = Header(stamp=self._node.get_clock().now().to_msg(), frame_id="")
        detector = frames.detector
        self._labels.publish(
            label_info_msg(detector.names, header, self._vision, detector.settings.conf)
        )

    def destroy(self) -> None:
        publishers = [p for outputs in self._cameras.values() for p in outputs.all()]
        for publisher in [*publishers, self._labels]:
            if publisher is not None:
                self._node.destroy_lifecycle_publisher(publisher)
