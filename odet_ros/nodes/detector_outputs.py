"""The 2D outputs of detector_node: its lifecycle publishers and what goes out on each.

``detections`` (vision_msgs/Detection2DArray) on every frame; ``image_annotated`` and
``detection_annotations`` (foxglove_msgs/ImageAnnotations, for Foxglove's Image panel) only
while something subscribes, as they cost a drawing or a message per box; ``label_info`` latched
(transient local) for late joiners. foxglove_msgs is optional: without it the node says once why
there are no annotations and runs as before.
"""

from __future__ import annotations

from typing import Any

from rclpy.lifecycle import LifecycleNode
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from odet_ros.messages import VisionMsgClasses, label_info_msg
from odet_ros.messages.foxglove import FoxgloveMsgClasses, image_annotations_msg
from odet_ros.nodes.qos import LATCHED
from odet_ros.runtime.frame_detector import FrameDetector, FrameResult
from odet_ros.runtime.inference import Frame

ONE_FRAME = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)


class DetectorOutputs:
    """Made on configure, destroyed on cleanup; publishes only while the node is active."""

    def __init__(self, node: LifecycleNode, vision: VisionMsgClasses) -> None:
        self._node = node
        self._vision = vision
        publish = node.create_lifecycle_publisher
        self._detections = publish(vision.Detection2DArray, "detections", 10)
        self._annotated = publish(Image, "image_annotated", ONE_FRAME)
        self._labels = None
        if vision.LabelInfo is None:
            node.get_logger().warning(
                "this vision_msgs has no LabelInfo (added in 4.1): label_info is not published;"
                " class names are only in the model bundle",
                once=True,
            )
        else:
            self._labels = publish(vision.LabelInfo, "label_info", LATCHED)
        self._foxglove = FoxgloveMsgClasses.from_ros()
        self._annotations = None
        if self._foxglove is None:
            node.get_logger().info(
                "foxglove_msgs is not installed: no detection_annotations for Foxglove"
                " (apt install ros-$ROS_DISTRO-foxglove-msgs)",
                once=True,
            )
        else:
            self._annotations = publish(
                self._foxglove.ImageAnnotations, "detection_annotations", ONE_FRAME
            )

    def wants_annotated(self) -> bool:
        return bool(self._annotated.get_subscription_count() > 0)

    def publish(self, result: FrameResult, frame: Frame, frames: FrameDetector) -> None:
        """One answered frame (on the inference thread)."""
        self._detections.publish(result.message)
        if result.annotated is not None:
            self._annotated.publish(result.annotated)
        if self._annotations is not None and self._annotations.get_subscription_count() > 0:
            assert self._foxglove is not None
            self._annotations.publish(
                image_annotations_msg(
                    result.detections, frames.detector.names, frame.header, self._foxglove
                )
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
        publishers: list[Any] = [self._detections, self._annotated, self._labels, self._annotations]
        for publisher in publishers:
            if publisher is not None:
                self._node.destroy_lifecycle_publisher(publisher)
