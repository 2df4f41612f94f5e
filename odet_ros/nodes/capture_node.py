"""capture_node: sampled, de-duplicated, sharp camera frames into rosbag2 (mcap) on the robot.

ROS wiring only: the parameters and what they mean are in
:mod:`odet_ros.runtime.capture_parameters`; sampling and the bag session are
:class:`odet_ros.capture.CaptureRecorder`; with ``select``, the deployed model chooses the frames
(:class:`odet_ros.capture.selecting.SelectingCapture`, on the detector's Detection2DArray paired
with each frame by stamp). A topic in ``image_topics`` ending in ``/compressed`` is a
CompressedImage topic; each camera's CameraInfo is ``camera_info`` beside its base topic.
Frames are taken serialized and read in place, as the detector takes them
(:func:`.camera_subscription.frame_decoder`); bytes that are no image are an unusable frame.

Managed (``lifecycle:=true``): activate subscribes and records (``record_on_start``), deactivate
closes the bag. SIGINT and SIGTERM only end the spin loop, so a frame being written completes;
then the session is closed, metadata.yaml included.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from dataclasses import replace
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_srvs.srv import Trigger

from odet_ros.capture import CaptureRecorder
from odet_ros.capture.health import CaptureHealth
from odet_ros.capture.selecting import SelectingCameras
from odet_ros.errors import OdetError
from odet_ros.interfaces.header import stamp_to_ns
from odet_ros.interfaces.topics import camera_info_beside, is_compressed
from odet_ros.messages.vision import detections_from_msg
from odet_ros.nodes.camera_subscription import frame_decoder
from odet_ros.nodes.diagnostics import diagnostic_array
from odet_ros.nodes.managed import ManagedNode
from odet_ros.nodes.parameters import values
from odet_ros.nodes.qos import LATCHED
from odet_ros.nodes.runner import run_node
from odet_ros.runtime.capture_parameters import (
    CAPTURE_PARAMETERS,
    SAMPLER_PARAMETERS,
    sampler_settings,
    session_settings,
)
from odet_ros.runtime.health import lifecycle_status
from odet_ros.runtime.inference import Decoder
from odet_ros.runtime.udp_drops import UdpDropWatch
from odet_ros.selection.configure import configure_selection

NODE_NAME = "capture_node"
HOUSEKEEPING_PERIOD = 0.5  # seconds between flush / free-disk checks


class CaptureNode(ManagedNode):
    """Subscribes to the cameras and feeds the capture recorder."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, CAPTURE_PARAMETERS, **kwargs)
        self.recorder: CaptureRecorder | None = None
        self.selecting: SelectingCameras | None = None
        self._topics: list[str] = []
        self._inputs: list[Any] = []  # made on activate, destroyed on deactivate
        self._triggers: list[Any] = []
        self._health = CaptureHealth()
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(HOUSEKEEPING_PERIOD, self._tick)
        self._udp_drops = UdpDropWatch()
        self.create_timer(self.get_parameter("status_period").value, self._report)
        self.start()

    # -- lifecycle -----------------------------------------------------------------------------

    def configure(self) -> None:
        settings = values(self, CAPTURE_PARAMETERS)
        self._topics = [self.resolve_topic_name(t) for t in settings["image_topics"]]
        self.recorder = CaptureRecorder(
            self._topics,
            sampler_settings(settings),
            session_settings(settings, os.environ.get("ROS_DISTRO", "humble")),
            self.get_logger(),
            store_compressed=settings["store_compressed"],
            jpeg_quality=settings["jpeg_quality"],
        )
        self._calibrate(settings["blur_calibration_seconds"])
        self.selecting = self._selecting(settings) if settings["select"] else None

    def activate(self) -> None:
        assert self.recorder is not None
        for topic in self._topics:
            compressed = is_compressed(topic)
            on_image = functools.partial(self._on_image, topic, frame_decoder(compressed))
            message_type = CompressedImage if compressed else Image
            self._subscribe(message_type, topic, on_image, raw=True)
            info = functools.partial(self.recorder.on_camera_info, topic)
            self._subscribe(CameraInfo, camera_info_beside(topic), info)
        if self.selecting is not None:
            from vision_msgs.msg import Detection2DArray, LabelInfo

            for topic, detections in self.selecting.detections.items():
                on_detections = functools.partial(self._on_detections, topic)
                self._subscribe(Detection2DArray, detections, on_detections)
            label_info = self.get_parameter("label_info_topic").value
            self._subscribe(LabelInfo, label_info, self._on_label_info, LATCHED)
        for name in ("start", "stop", "snapshot"):
            callback = functools.partial(self._on_command, name)
            self._triggers.append(self.create_service(Trigger, f"~/{name}", callback))
        if self.get_parameter("record_on_start").value:
            self.recorder.command("start")

    def deactivate(self) -> None:
        for subscription in self._inputs:
            self.destroy_subscription(subscription)
        for service in self._triggers:
            self.destroy_service(service)
        self._inputs.clear()
        self._triggers.clear()
        if self.recorder is not None:
            self.recorder.stop()

    def cleanup(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
        self.recorder = None
        self.selecting = None

    def destroy_node(self) -> None:
        """Close the session cleanly (metadata.yaml written) whatever the state."""
        if self.recorder is not None:
            self.recorder.stop()
        super().destroy_node()

    def _subscribe(
        self, msg_type: type, topic: str, callback: Any, qos: Any = None, raw: bool = False
    ) -> None:
        qos = qos or qos_profile_sensor_data
        self._inputs.append(self.create_subscription(msg_type, topic, callback, qos, raw=raw))

    # -- parameters ----------------------------------------------------------------------------

    def _calibrate(self, seconds: float) -> None:
        if seconds > 0 and self.recorder is not None:
            percentile = self.get_parameter("blur_calibration_percentile").value
            self.recorder.calibrate_blur(seconds, percentile)
            self.get_logger().info(f"calibrating the blur threshold over {seconds:g} s of footage")

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Validate and apply run-time changes (ranges and read-only were checked by rclpy)."""
        changes = {p.name: p.value for p in parameters}
        sampler = {name: float(changes[name]) for name in SAMPLER_PARAMETERS if name in changes}
        recorder = self.recorder
        if recorder is None:  # not configured yet: configure reads the new values
            return SetParametersResult(successful=True)
        try:
            for status in recorder.status():
                replace(status.settings, **sampler)  # raises OdetError on a bad combination
            if "jpeg_quality" in changes:
                recorder.stored.jpeg_quality = int(changes["jpeg_quality"])
            if sampler:
                recorder.configure_sampling(**sampler)
            if "blur_calibration_seconds" in changes:
                self._calibrate(float(changes["blur_calibration_seconds"]))
        except OdetError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _selecting(self, settings: dict[str, Any]) -> SelectingCameras:
        """Selection by the deployed model, on each camera's detections."""
        assert self.recorder is not None
        selection = configure_selection(settings, settings["model"])
        if selection.warning:
            self.get_logger().warning(selection.warning)
        detections = self.resolve_topic_name(settings["detections_topic"])
        selecting = SelectingCameras(self.recorder, selection, detections)
        self.get_logger().info(
            f"selecting frames of {', '.join(selecting.cameras)} by the model:"
            f" {', '.join(selection.settings.reasons)}; {selecting.profile_source}"
        )
        return selecting

    # -- topics and services -------------------------------------------------------------------

    def _on_image(self, topic: str, decode: Decoder, serialized: bytes) -> None:
        """A frame, taken serialized and read in place (as the detector takes them)."""
        now = self.get_clock().now().nanoseconds
        msg = self.recorder.read(topic, decode, serialized) if self.recorder else None
        if msg is not None and self.selecting is not None:
            self.selecting.cameras[topic].on_image(msg, now)
        elif msg is not None and self.recorder is not None:
            self.recorder.on_image(topic, msg, now)

    def _on_detections(self, topic: str, msg: Any) -> None:
        if self.selecting is not None:
            camera = self.selecting.cameras[topic]
            detections = detections_from_msg(msg, camera.names)
            camera.on_detections(stamp_to_ns(msg.header.stamp), detections)

    def _on_label_info(self, msg: Any) -> None:
        if self.selecting is not None:
            names = {c.class_id: c.class_name for c in msg.class_map}
            self.selecting.set_names(
                [names.get(i, str(i)) for i in range(max(names, default=-1) + 1)]
            )

    def _on_command(
        self, name: str, request: Trigger.Request, response: Trigger.Response
    ) -> Trigger.Response:
        assert self.recorder is not None
        response.success, response.message = self.recorder.command(name)
        return response

    # -- health --------------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.recorder is not None:
            self.recorder.tick()

    def _report(self) -> None:
        """Publish /diagnostics and log the counters of every camera."""
        name, recorder = self.get_name(), self.recorder
        if recorder is None or self.state != "active":
            statuses = [lifecycle_status(f"{name}: capture", self.state)]
        else:
            summary = recorder.summary()
            extra = self.selecting.values() if self.selecting is not None else {}
            if self.selecting is not None:
                summary += f" | {self.selecting.summary()}"
            self.get_logger().info(summary)
            statuses = self._health.statuses(name, recorder, extra)
            dropped = self._udp_drops.check(time.monotonic())
            if dropped:
                self.get_logger().warning(dropped)
        self._diagnostics.publish(diagnostic_array(statuses, self.get_clock().now().to_msg()))


def main(args: list[str] | None = None) -> int:
    return run_node(CaptureNode, NODE_NAME, args)


if __name__ == "__main__":
    sys.exit(main())
