"""detector_node: camera images in, vision_msgs detections (and an annotated image) out.

ROS wiring only: the parameters and what they mean are in
:mod:`odet_ros.runtime.detector_parameters`, frames run on an
:class:`~odet_ros.runtime.inference.InferenceWorker` thread (newest first), the camera QoS is
chosen by :class:`~odet_ros.runtime.qos.CameraQos`, the outputs are
:class:`~odet_ros.nodes.detector_outputs.DetectorOutputs` and (with depth)
:class:`~odet_ros.nodes.depth_output.DepthOutput`. Managed (``lifecycle:=true``), it loads the
model on configure and subscribes on activate; otherwise both at start-up. Camera and timer have
a callback group of their own and the node spins two threads, so a model loading in the
parameter callback (seconds) holds up neither.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image

from odet_ros.errors import OdetError
from odet_ros.interfaces.diagnostics import Status
from odet_ros.interfaces.topics import compressed_topic
from odet_ros.messages import VisionMsgClasses
from odet_ros.nodes.camera_subscription import CameraSubscription
from odet_ros.nodes.depth_output import DepthOutput
from odet_ros.nodes.detector_outputs import DetectorOutputs
from odet_ros.nodes.diagnostics import diagnostic_array
from odet_ros.nodes.managed import ManagedNode
from odet_ros.nodes.parameters import values
from odet_ros.nodes.runner import run_node
from odet_ros.runtime.detector_parameters import (
    DETECTOR_PARAMETERS,
    RELABELLING,
    RELOADING,
    depth_options,
    frame_detector,
    retune,
)
from odet_ros.runtime.frame_detector import FrameDetector, FrameResult
from odet_ros.runtime.health import detector_status, no_image_warning
from odet_ros.runtime.inference import Frame, InferenceWorker
from odet_ros.runtime.parameters import check_choices

LOG_PERIOD_S = 10.0


class DetectorNode(ManagedNode):
    """Runs one model on one camera stream."""

    def __init__(self, **node_options: Any) -> None:
        super().__init__("detector", DETECTOR_PARAMETERS, **node_options)
        self._vision = VisionMsgClasses.from_ros()
        self._image_type, self._image_topic = self._image_input()
        self._worker = InferenceWorker(self._image_topic, self, self.get_logger(), self._now_ns)
        self._group = MutuallyExclusiveCallbackGroup()  # the camera and the status timer
        self._outputs: DetectorOutputs | None = None
        self._depth: DepthOutput | None = None
        self._camera: CameraSubscription | None = None
        self._active_since: float | None = None
        self._last_log = time.monotonic()
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(1.0, self._on_timer, callback_group=self._group)
        self.start()

    # -- lifecycle -----------------------------------------------------------------------------

    def configure(self) -> None:
        values = self._values()
        check_choices(DETECTOR_PARAMETERS, values)
        frames = frame_detector(values, self._vision, Image)
        self._worker.update(lambda _: frames)
        self._outputs = DetectorOutputs(self, self._vision)
        depth = depth_options(values)
        if depth is not None:
            resolved = depth.with_topics(self.resolve_topic_name)
            self._depth = DepthOutput(self, resolved, self._image_topic)
        self._camera = CameraSubscription(
            self, self._image_type, self._image_topic, reliability=values["qos_reliability"],
            depth=values["qos_depth"], callback=self._worker.put, group=self._group,
        )  # fmt: skip

    def activate(self) -> None:
        if self._worker.frames is None:  # freed by release_on_deactivate
            frames = frame_detector(self._values(), self._vision, Image)
            self._worker.update(lambda _: frames)
        self._worker.start()
        assert self._camera is not None
        self._camera.review()
        if self._depth is not None:
            self._depth.subscribe(self._group)
        self._active_since = time.monotonic()
        self._publish_label_info()

    def deactivate(self) -> None:
        self._active_since = None
        if self._camera is not None:
            self._camera.close()
        if self._depth is not None:
            self._depth.unsubscribe()
        self._worker.stop()
        if self.get_parameter("release_on_deactivate").value:
            self._worker.update(lambda _: None)

    def cleanup(self) -> None:
        self._worker.stop()
        self._worker.update(lambda _: None)
        if self._outputs is not None:
            self._outputs.destroy()
            self._outputs = None
        if self._depth is not None:
            self._depth.destroy()
            self._depth = None
        self._camera = None

    # -- parameters ----------------------------------------------------------------------------

    def _values(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        return values(self, DETECTOR_PARAMETERS, overrides)

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Validate and apply a change atomically: a bad value is refused, never a crash. A new
        model loads beside the running one, which serves frames until it is ready; before
        configure, the values wait for it."""
        changes = {p.name: p.value for p in parameters}
        settings = self._values(changes)
        try:
            check_choices(DETECTOR_PARAMETERS, changes)
            if self._worker.frames is not None:
                if any(name in changes for name in RELOADING):
                    frames = frame_detector(settings, self._vision, Image)
                    self._worker.update(lambda _: frames)
                    self.get_logger().info(f"model reloaded: {settings['model']}")
                else:
                    self._worker.update(lambda frames: frames and retune(frames, settings, changes))
        except OdetError as error:
            return SetParametersResult(successful=False, reason=str(error))
        if any(name in changes for name in RELABELLING):
            self._publish_label_info()
        return SetParametersResult(successful=True)

    # -- topics --------------------------------------------------------------------------------

    def _image_input(self) -> tuple[type, str]:
        """The camera message type and the resolved topic name (remappings applied)."""
        topic = self.resolve_topic_name("image")
        if self.get_parameter("image_transport").value == "compressed":
            return CompressedImage, compressed_topic(topic)
        return Image, topic

    # -- outputs (called on the inference thread) ----------------------------------------------

    def wants_annotated(self) -> bool:
        return (
            self._outputs is not None
            and self.get_parameter("publish_annotated").value
            and self._outputs.wants_annotated()
        )

    def publish(self, result: FrameResult, frame: Frame, frames: FrameDetector) -> None:
        assert self._outputs is not None
        self._outputs.publish(result, frame, frames)
        if self._depth is not None:
            self._depth.on_frame(
                result, frame.header, frames.detector.names, frames.class_id_format
            )

    def _publish_label_info(self) -> None:
        frames = self._worker.frames
        if self._outputs is not None and frames is not None and self._active_since is not None:
            self._outputs.publish_label_info(frames)

    def _now_ns(self) -> int:
        return int(self.get_clock().now().nanoseconds)

    # -- health --------------------------------------------------------------------------------

    def _on_timer(self) -> None:
        now = time.monotonic()
        if self._active_since is not None and self._camera is not None:
            self._camera.review()
            publishers = self.count_publishers(self._image_topic)
            warning = no_image_warning(
                self._image_topic, self._worker.received, now - self._active_since, publishers
            )
            if warning:
                self.get_logger().warning(warning, once=True)
        self._diagnostics.publish(
            diagnostic_array(self._statuses(now), self.get_clock().now().to_msg())
        )

    def _statuses(self, now: float) -> list[Status]:
        frames = self._worker.frames
        model = str(frames.detector.model_path) if frames else self.get_parameter("model").value
        summary = self._worker.summary(now)
        name = self.get_name()
        statuses = [
            detector_status(
                f"{name}: object detection", model, self.state, self._worker.received, summary
            )
        ]
        if self._depth is not None and self._active_since is not None:
            statuses.append(self._depth.status(f"{name}: 3D positions", model))
        if self._active_since is not None and now - self._last_log >= LOG_PERIOD_S:
            self._last_log = now
            self.get_logger().info(summary.line())
        return statuses

    def destroy_node(self) -> None:
        self._worker.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(DetectorNode, "detector", args, threads=2)


if __name__ == "__main__":
    sys.exit(main())
