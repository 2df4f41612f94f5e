"""The 2D outputs of detector_node: its lifecycle publishers and what goes out on each.

Per camera, beside its image topic (or under the node's namespace for the single camera):
``detections`` (vision_msgs/Detection2DArray) on every frame; ``image_annotated``,
``detection_annotations`` (foxglove_msgs/ImageAnnotations, for Foxglove's Image panel) and, for
a segmentation model, ``instance_masks`` (sensor_msgs/Image mono16: pixel = index of the
detection in the frame's Detection2DArray + 1, 0 background; :mod:`odet_ros.messages.masks`)
only while something subscribes, as they cost a drawing, a message per box or the masks. A
segmentation model computes its masks only for a frame that needs them: one of those three has
a subscriber (the drawings show the outlines), or the camera's 3D step runs (it locates objects
from their masks). Once per node: ``label_info``, latched (transient local) for late joiners.
foxglove_msgs is optional: without it the node says once why there are no annotations and runs
as before. This is the inference thread's sink: it calls :meth:`DetectorOutputs.publish`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rclpy.lifecycle import LifecycleNode
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from odet_ros.messages import VisionMsgClasses, label_info_msg
from odet_ros.messages.foxglove import FoxgloveMsgClasses, image_annotations_msg
from odet_ros.messages.masks import instance_masks_msg
from odet_ros.nodes.depth_output import DepthOutput
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
        self.masks = publish(Image, camera.output("instance_masks"), ONE_FRAME)
        self.annotations = None
        if foxglove is not None:
            self.annotations = publish(
                foxglove.ImageAnnotations, camera.output("detection_annotations"), ONE_FRAME
            )

    def all(self) -> list[Any]:
        publishers = (self.detections, self.annotated, self.masks, self.annotations)
        return [p for p in publishers if p is not None]

    def watched(self, publisher: Any) -> bool:
        return publisher is not None and publisher.get_subscription_count() > 0


class DetectorOutputs:
    """Made on configure, destroyed on cleanup; publishes only while the node is active."""

    def __init__(
        self,
        node: LifecycleNode,
        vision: VisionMsgClasses,
        cameras: Sequence[Camera],
        depth: Mapping[str, DepthOutput],
    ) -> None:
        self._node = node
        self._vision = vision
        self._depth = depth
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
        enabled = bool(self._node.get_parameter("publish_annotated").value)
        return enabled and self._cameras[camera].watched(self._cameras[camera].annotated)

    def wants_masks(self, camera: str) -> bool:
        outputs = self._cameras[camera]
        watched = outputs.watched(outputs.masks) or outputs.watched(outputs.annotations)
        return watched or self.wants_annotated(camera) or camera in self._depth

    def publish(
        self, camera: str, result: FrameResult, frame: Frame, frames: FrameDetector
    ) -> None:
        """One answered frame of ``camera`` (on the inference thread)."""
        outputs = self._cameras[camera]
        outputs.detections.publish(result.message)
        if result.annotated is not None:
            outputs.annotated.publish(result.annotated)
        if outputs.annotations is not None and outputs.watched(outputs.annotations):
            assert self._foxglove is not None
            names = frames.detector.names
            outputs.annotations.publish(
                image_annotations_msg(result.detections, names, frame.header, self._foxglove)
            )
        if frames.detector.segments and outputs.watched(outputs.masks):
            detections, size = result.detections, result.source_hw
            outputs.masks.publish(instance_masks_msg(detections, size, frame.header, Image))
        depth = self._depth.get(camera)
        if depth is not None:
            depth.on_frame(result, frame.header, frames.detector.names, frames.class_id_format)

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
