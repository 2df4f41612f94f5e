"""detector_node: camera images in, vision_msgs detections (annotated image, masks) out.

ROS wiring only. Parameters: :mod:`odet_ros.runtime.detector_parameters`; cameras and where their
outputs go: :mod:`odet_ros.runtime.cameras`; every camera's frames run through one model on an
:class:`~odet_ros.runtime.inference.InferenceWorker` thread (newest frame per camera); outputs:
:mod:`.detector_outputs`, :mod:`.depth_output`. Managed (``lifecycle:=true``) it loads the model on
configure and subscribes on activate, else both at start-up. Each camera and the timer have a
callback group of their own on a two-thread executor: a model loading in the parameter callback,
or another camera's frame, holds up none of them."""

from __future__ import annotations

import functools
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
from odet_ros.nodes.camera_subscription import CameraSubscription, frame_decoder
from odet_ros.nodes.depth_output import DepthOutput
from odet_ros.nodes.detector_outputs import DetectorOutputs
from odet_ros.nodes.diagnostics import diagnostic_array
from odet_ros.nodes.managed import ManagedNode
from odet_ros.nodes.parameters import values
from odet_ros.nodes.runner import run_node
from odet_ros.runtime.cameras import Camera, cameras
from odet_ros.runtime.detector_parameters import (
    DETECTOR_PARAMETERS,
    RELABELLING,
    RELOADING,
    depth_options,
    frame_detectors,
    model_summary,
    retune,
)
from odet_ros.runtime.health import detector_statuses, no_image_warning
from odet_ros.runtime.inference import InferenceWorker
from odet_ros.runtime.parameters import check_choices
from odet_ros.runtime.udp_drops import UdpDropWatch

LOG_PERIOD_S = 10.0


class DetectorNode(ManagedNode):
    """Runs one model on one or several camera streams."""

    def __init__(self, **node_options: Any) -> None:
        super().__init__("detector", DETECTOR_PARAMETERS, **node_options)
        self._vision = VisionMsgClasses.from_ros()
        self._group = MutuallyExclusiveCallbackGroup()  # the status timer
        self._cameras: list[Camera] = []
        self._worker: InferenceWorker | None = None
        self._outputs: DetectorOutputs | None = None
        self._depth: dict[str, DepthOutput] = {}
        self._inputs: list[CameraSubscription] = []
        self._active_since: float | None = None
        self._last_log = time.monotonic()
        self._udp_drops = UdpDropWatch()
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(1.0, self._on_timer, callback_group=self._group)
        self.start()

    # -- lifecycle -----------------------------------------------------------------------------

    def configure(self) -> None:
        settings = self._values()
        check_choices(DETECTOR_PARAMETERS, settings)
        self._cameras = self._cameras_of(settings)
        topics = [camera.topic for camera in self._cameras]
        for camera in self._cameras:
            depth = depth_options(settings, camera.depth_topic)
            if depth is not None:
                resolved = depth.with_topics(self.resolve_topic_name)
                self._depth[camera.topic] = DepthOutput(self, resolved, camera)
        self._outputs = DetectorOutputs(self, self._vision, self._cameras, self._depth)
        decoders = {camera.topic: frame_decoder(camera.compressed) for camera in self._cameras}
        worker = InferenceWorker(
            topics,
            self._outputs,
            self.get_logger(),
            self._now_ns,
            settings["batch_window"],
            decoders=decoders,
        )
        frames = frame_detectors(settings, self._vision, Image, topics)
        worker.update(lambda _: frames)
        self.get_logger().info(model_summary(next(iter(frames.values())).detector, settings))
        self._worker = worker
        self._inputs = [
            CameraSubscription(
                self,
                CompressedImage if camera.compressed else Image,
                camera.topic,
                reliability=settings["qos_reliability"],
                depth=settings["qos_depth"],
                callback=functools.partial(worker.put, camera.topic),
            )
            for camera in self._cameras
        ]

    def activate(self) -> None:
        worker = self._worker
        assert worker is not None
        if worker.frames is None:  # freed by release_on_deactivate
            frames = frame_detectors(self._values(), self._vision, Image, worker.cameras)
            worker.update(lambda _: frames)
        worker.start()
        for subscription in self._inputs:
            subscription.review()
            depth = self._depth.get(subscription.topic)
            if depth is not None:
                depth.subscribe(subscription.group)
        self._active_since = time.monotonic()
        self._publish_label_info()

    def deactivate(self) -> None:
        self._active_since = None
        for subscription in self._inputs:
            subscription.close()
        for depth in self._depth.values():
            depth.unsubscribe()
        if self._worker is not None:
            self._worker.stop()
            if self.get_parameter("release_on_deactivate").value:
                self._worker.update(lambda _: None)

    def cleanup(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._outputs is not None:
            self._outputs.destroy()
            self._outputs = None
        for depth in self._depth.values():
            depth.destroy()
        self._depth, self._inputs, self._cameras = {}, [], []

    # -- parameters ----------------------------------------------------------------------------

    def _values(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        return values(self, DETECTOR_PARAMETERS, overrides)

    def _cameras_of(self, settings: dict[str, Any]) -> list[Camera]:
        """The cameras the parameters name; one on the ``image`` remapping by default."""
        image = self.resolve_topic_name("image")
        if settings["image_transport"] == "compressed":
            image = compressed_topic(image)
        depth = settings["depth_topic"]
        return cameras(
            settings["image_topics"] or [],
            settings["depth_topics"] or [],
            self.resolve_topic_name,
            single=(image, self.resolve_topic_name(depth) if depth else ""),
        )

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Validate and apply a change atomically: a bad value is refused, never a crash. A new
        model loads beside the running one, which serves frames until it is ready; before
        configure, the values wait for it."""
        changes = {p.name: p.value for p in parameters}
        settings = self._values(changes)
        worker = self._worker
        try:
            check_choices(DETECTOR_PARAMETERS, changes)
            if worker is not None and worker.frames is not None:
                if any(name in changes for name in RELOADING):
                    frames = frame_detectors(settings, self._vision, Image, worker.cameras)
                    worker.update(lambda _: frames)
                    detector = next(iter(frames.values())).detector
                    self.get_logger().info(f"reloaded: {model_summary(detector, settings)}")
                else:
                    worker.update(lambda frames: frames and retune(frames, settings, changes))
                    if "conf_threshold" in changes and worker.frames:
                        detector = next(iter(worker.frames.values())).detector
                        self.get_logger().info(model_summary(detector, settings))
                worker.batch_window_s = settings["batch_window"]
        except OdetError as error:
            return SetParametersResult(successful=False, reason=str(error))
        if any(name in changes for name in RELABELLING):
            self._publish_label_info()
        return SetParametersResult(successful=True)

    # -- outputs (what the inference thread hands over goes out in DetectorOutputs) ---------------

    def _publish_label_info(self) -> None:
        frames = self._worker.frames if self._worker is not None else None
        if self._outputs is not None and frames and self._active_since is not None:
            self._outputs.publish_label_info(next(iter(frames.values())))

    def _now_ns(self) -> int:
        return int(self.get_clock().now().nanoseconds)

    # -- health --------------------------------------------------------------------------------

    def _on_timer(self) -> None:
        now = time.monotonic()
        if self._active_since is not None and self._worker is not None:
            for subscription in self._inputs:
                subscription.review()
                topic = subscription.topic
                warning = no_image_warning(
                    topic, self._worker.received[topic], now - self._active_since,
                    self.count_publishers(topic),
                )  # fmt: skip
                if warning:
                    self.get_logger().warning(warning, once=True)
            dropped = self._udp_drops.check(now)
            if dropped:
                self.get_logger().warning(dropped)
        stamp = self.get_clock().now().to_msg()
        self._diagnostics.publish(diagnostic_array(self._statuses(now), stamp))

    def _statuses(self, now: float) -> list[Status]:
        model = self.get_parameter("model").value
        statuses = detector_statuses(self.get_name(), self.state, model, self._worker, now)
        for camera in self._cameras:
            depth = self._depth.get(camera.topic)
            if depth is not None and self._active_since is not None:
                which = "" if len(self._cameras) == 1 else f", {camera.topic}"
                name = f"{self.get_name()}: 3D positions{which}"
                statuses.append(depth.status(name, statuses[0].hardware_id))
        if self._active_since is not None and now - self._last_log >= LOG_PERIOD_S:
            self._last_log = now
            for line in self._worker.summary_lines(now) if self._worker else ():
                self.get_logger().info(line)
        return statuses

    def destroy_node(self) -> None:
        if self._worker is not None:
            self._worker.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(DetectorNode, "detector", args, threads=2)


if __name__ == "__main__":
    sys.exit(main())
