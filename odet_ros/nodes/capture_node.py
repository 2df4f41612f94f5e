"""capture_node: sampled, de-duplicated, sharp camera frames into rosbag2 (mcap) on the robot.

ROS wiring only: parameters, subscriptions, services, timers, diagnostics. Sampling and the bag
session are :class:`odet_ros.capture.CaptureRecorder`; with ``select``, the deployed model
chooses the frames (:class:`odet_ros.capture.selecting.SelectingCapture`, on the detector's
Detection2DArray paired with each frame by stamp).

A topic in ``image_topics`` that ends in ``/compressed`` is subscribed as CompressedImage (the
image_transport naming), any other as Image. Each camera's CameraInfo is read from
``camera_info`` beside its base topic (``/cam/image_raw`` -> ``/cam/camera_info``).

Shutdown: SIGINT and SIGTERM only end the spin loop (nothing is raised inside a callback), so a
frame being written completes; then the session is closed, metadata.yaml included.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import (
    SetParametersResult,
)
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import (
    DurabilityPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_srvs.srv import Trigger

from odet_ros.bags import DISTROS
from odet_ros.capture import DEFAULT_SAMPLING, CaptureRecorder, SessionSettings, TopicStatus
from odet_ros.capture.selecting import SelectingCapture
from odet_ros.capture.topics import camera_info_topic, is_compressed
from odet_ros.detection.bundle import model_identity
from odet_ros.errors import OdetError
from odet_ros.messages.header import stamp_to_ns
from odet_ros.messages.vision import detections_from_msg
from odet_ros.nodes.parameters import describe
from odet_ros.nodes.runner import run_node
from odet_ros.runtime.health import capture_health
from odet_ros.sampling import SamplerSettings
from odet_ros.selection import DEFAULT_SELECTION, SelectionSettings, parse_reasons

NODE_NAME = "capture_node"
HOUSEKEEPING_PERIOD = 0.5  # seconds between flush / free-disk checks
SAMPLER_PARAMETERS = ("period", "blur_threshold", "duplicate_threshold")


# name: (default, descriptor); read-only ones are fixed when the node starts.
PARAMETERS = {
    "image_topics": (
        ["camera/image_raw"],
        describe(
            "image topics to capture (relative names are in the node's namespace); a name ending"
            " in /compressed is a CompressedImage topic",
            read_only=True,
        ),
    ),
    "output_dir": (
        "~/odet_captures",
        describe("sessions go to <output_dir>/<prefix>_<YYYYmmdd_HHMMSS>/", read_only=True),
    ),
    "prefix": ("capture", describe("session folder name prefix", read_only=True)),
    "store_compressed": (
        True,
        describe(
            "store frames as JPEG CompressedImage (compressed input is stored as it came) "
            "instead of raw Image",
            read_only=True,
        ),
    ),
    "jpeg_quality": (90, describe("JPEG quality of re-encoded frames", ints=(1, 100))),
    "period": (
        DEFAULT_SAMPLING.period,
        describe("minimum seconds between kept frames of a camera (by stamp)", floats=(0, 3600)),
    ),
    "blur_threshold": (
        DEFAULT_SAMPLING.blur_threshold,
        describe(
            "reject frames whose variance of the Laplacian (grey, at most 640 px wide) is below; "
            "0 = off",
            floats=(0, 1e6),
        ),
    ),
    "duplicate_threshold": (
        DEFAULT_SAMPLING.duplicate_threshold,
        describe(
            "reject frames whose mean grey difference (0-255) to the last kept frame, on a 64x48 "
            "thumbnail, is below; 0 = off",
            floats=(0, 255),
        ),
    ),
    "blur_calibration_seconds": (
        0.0,
        describe(
            "if > 0, set each camera's blur threshold from the sharpness seen over its first "
            "seconds of footage (setting it again restarts the calibration)",
            floats=(0, 600),
        ),
    ),
    "blur_calibration_percentile": (
        20.0,
        describe(
            "calibrated blur threshold = this percentile of the observed sharpness",
            floats=(0, 100),
        ),
    ),
    "record_on_start": (True, describe("start recording as soon as the node is up")),
    "flush_period": (
        2.0,
        describe(
            "seconds between flushes to disk: at most this much is lost on a power cut",
            floats=(0.1, 60),
            read_only=True,
        ),
    ),
    "split_size_mb": (
        0.0,
        describe(
            "start a new bag after this many MiB; 0 = no limit", floats=(0, 1e7), read_only=True
        ),
    ),
    "split_duration": (
        0.0,
        describe(
            "start a new bag after this many seconds; 0 = no limit", floats=(0, 1e6), read_only=True
        ),
    ),
    "min_free_disk_mb": (
        1024.0,
        describe(
            "stop recording (error log) when free disk falls under this many MiB",
            floats=(0, 1e9),
            read_only=True,
        ),
    ),
    "select": (
        "",
        describe(
            "capture driven by the deployed model: keep the frames it is unsure of, unstable on"
            " or has not seen the like of ('all', or some of 'unsure,unstable,novel'; empty:"
            " keep one frame every period). Needs the detector running on the camera",
            read_only=True,
        ),
    ),
    "detections_topic": (
        "detections",
        describe("select: the detector's vision_msgs/Detection2DArray topic", read_only=True),
    ),
    "label_info_topic": (
        "label_info",
        describe("select: the detector's vision_msgs/LabelInfo (class names)", read_only=True),
    ),
    "model": (
        "",
        describe(
            "select: the model's name, recorded with the pre-labels (as given to detect.launch.py)",
            read_only=True,
        ),
    ),
    "unsure_low": (
        DEFAULT_SELECTION.unsure_band[0],
        describe(
            "select unsure: lowest score of the band (the detector's conf_threshold or above)",
            floats=(0, 1),
            read_only=True,
        ),
    ),
    "unsure_high": (
        DEFAULT_SELECTION.unsure_band[1],
        describe("select unsure: scores under this are unsure", floats=(0, 1), read_only=True),
    ),
    "unsure_share": (
        DEFAULT_SELECTION.unsure_share,
        describe(
            "select unsure: share of a frame's boxes that must be in the band (1 = every box)",
            floats=(0.01, 1),
            read_only=True,
        ),
    ),
    "unsure_margin": (
        DEFAULT_SELECTION.unsure_margin,
        describe(
            "select unsure: a box whose best class leads the runner-up by less is unsure; 0 = off",
            floats=(0, 1),
            read_only=True,
        ),
    ),
    "count_jump": (
        DEFAULT_SELECTION.count_jump,
        describe(
            "select unstable: boxes gained or lost from one frame to the next; 0 = off",
            ints=(0, 1000),
            read_only=True,
        ),
    ),
    "novelty": (
        DEFAULT_SELECTION.novelty,
        describe(
            "select novel: colour-view distance to every kept frame above which a frame is new",
            floats=(0.01, 1),
            read_only=True,
        ),
    ),
    "per_view": (
        DEFAULT_SELECTION.per_view,
        describe(
            "select: frames kept of one view (within novelty of each other); 0 = no limit",
            ints=(0, 100000),
            read_only=True,
        ),
    ),
    "per_minute": (
        DEFAULT_SELECTION.per_minute,
        describe(
            "select: frames kept per minute of footage at most; 0 = no limit",
            floats=(0, 6000),
            read_only=True,
        ),
    ),
    "budget": (
        0,
        describe(
            "select: frames kept in all, then no more; 0 = no limit",
            ints=(0, 10**9),
            read_only=True,
        ),
    ),
    "status_period": (
        5.0,
        describe(
            "seconds between diagnostics and the counters log line",
            floats=(0.1, 3600),
            read_only=True,
        ),
    ),
}


class CaptureNode(Node):
    """Subscribes to the cameras and feeds the capture recorder."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        for name, (default, descriptor) in PARAMETERS.items():
            self.declare_parameter(name, default, descriptor)
        topics = [self.resolve_topic_name(t) for t in self._param("image_topics")]
        self.recorder = CaptureRecorder(
            topics,
            SamplerSettings(**{name: self._param(name) for name in SAMPLER_PARAMETERS}),
            self._session_settings(),
            self.get_logger(),
            store_compressed=self._param("store_compressed"),
            jpeg_quality=self._param("jpeg_quality"),
        )
        self._calibrate(self._param("blur_calibration_seconds"))
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.selecting = self._selecting(topics) if self._param("select") else None
        for topic in topics:
            message_type = CompressedImage if is_compressed(topic) else Image
            self.create_subscription(
                message_type,
                topic,
                functools.partial(self._on_image, topic),
                qos_profile_sensor_data,
            )
            self.create_subscription(
                CameraInfo,
                camera_info_topic(topic),
                functools.partial(self.recorder.on_camera_info, topic),
                qos_profile_sensor_data,
            )
        self.create_service(Trigger, "~/start", self._on_start)
        self.create_service(Trigger, "~/stop", self._on_stop)
        self.create_service(Trigger, "~/snapshot", self._on_snapshot)
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._seen_at_last_report = {topic: 0 for topic in topics}
        self.create_timer(HOUSEKEEPING_PERIOD, self.recorder.tick)
        self.create_timer(self._param("status_period"), self._report)
        if self._param("record_on_start"):
            self._start()

    def close(self) -> None:
        """Close the session cleanly (metadata.yaml written)."""
        self.recorder.stop()

    def destroy_node(self) -> None:
        self.close()
        super().destroy_node()

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _session_settings(self) -> SessionSettings:
        distro = os.environ.get("ROS_DISTRO", "humble")
        return SessionSettings(
            output_dir=Path(self._param("output_dir")).expanduser(),
            prefix=self._param("prefix"),
            distro=distro if distro in DISTROS else "humble",
            flush_period=self._param("flush_period"),
            split_size_mb=self._param("split_size_mb"),
            split_duration=self._param("split_duration"),
            min_free_disk_mb=self._param("min_free_disk_mb"),
        )

    def _calibrate(self, seconds: float) -> None:
        if seconds > 0:
            self.recorder.calibrate_blur(seconds, self._param("blur_calibration_percentile"))
            self.get_logger().info(f"calibrating the blur threshold over {seconds:g} s of footage")

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Validate and apply run-time changes (ranges and read-only were checked by rclpy)."""
        values = {p.name: p.value for p in parameters}
        sampler = {name: float(values[name]) for name in SAMPLER_PARAMETERS if name in values}
        try:
            for status in self.recorder.status():
                replace(status.settings, **sampler)  # raises OdetError on a bad combination
            if "jpeg_quality" in values:
                self.recorder.stored.jpeg_quality = int(values["jpeg_quality"])
            if sampler:
                self.recorder.configure_sampling(**sampler)
            if "blur_calibration_seconds" in values:
                self._calibrate(float(values["blur_calibration_seconds"]))
        except OdetError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _selecting(self, topics: list[str]) -> SelectingCapture:
        """Selection by the deployed model, on the detector's boxes of the one camera."""
        from vision_msgs.msg import Detection2DArray, LabelInfo

        if len(topics) != 1:
            raise OdetError(
                f"select needs exactly one image topic (the detector's camera), got {topics}"
            )
        settings = SelectionSettings(
            reasons=parse_reasons(self._param("select")),
            unsure_band=(self._param("unsure_low"), self._param("unsure_high")),
            unsure_share=self._param("unsure_share"),
            unsure_margin=self._param("unsure_margin"),
            count_jump=self._param("count_jump"),
            novelty=self._param("novelty"),
            per_view=self._param("per_view"),
            per_minute=self._param("per_minute"),
            total=self._param("budget"),
            quality=SamplerSettings(
                blur_threshold=self._param("blur_threshold"),
                duplicate_threshold=self._param("duplicate_threshold"),
            ),
        )
        selecting = SelectingCapture(self.recorder, topics[0], settings, self._model())
        self.create_subscription(
            Detection2DArray,
            self._param("detections_topic"),
            self._on_detections,
            qos_profile_sensor_data,
        )
        latched = QoSProfile(
            depth=1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )
        self.create_subscription(
            LabelInfo, self._param("label_info_topic"), self._on_label_info, latched
        )
        reasons = ", ".join(settings.reasons)
        self.get_logger().info(f"selecting frames of {topics[0]} by the model: {reasons}")
        return selecting

    def _model(self) -> tuple[str, str]:
        """The ``model`` parameter as name and version (the model file's hash) when it names a
        model this machine has; else the name alone, with a warning."""
        model = self._param("model")
        if not model:
            return "", ""
        try:
            return model_identity(model)
        except OdetError as error:
            self.get_logger().warning(f"model {model!r}: {error}; recording the name only")
            return model, ""

    def _on_image(self, topic: str, msg: Image | CompressedImage) -> None:
        now = self.get_clock().now().nanoseconds
        if self.selecting is not None:
            self.selecting.on_image(msg, now)
        else:
            self.recorder.on_image(topic, msg, now)

    def _on_detections(self, msg: Any) -> None:
        assert self.selecting is not None
        detections = detections_from_msg(msg, self.selecting.names)
        self.selecting.on_detections(stamp_to_ns(msg.header.stamp), detections)

    def _on_label_info(self, msg: Any) -> None:
        assert self.selecting is not None
        names = {c.class_id: c.class_name for c in msg.class_map}
        self.selecting.names = [names.get(i, str(i)) for i in range(max(names, default=-1) + 1)]

    def _start(self) -> tuple[bool, str]:
        try:
            directory = self.recorder.start()
        except OdetError as error:
            self.get_logger().error(f"cannot start recording: {error}")
            return False, str(error)
        return True, f"recording to {directory}"

    def _on_start(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self._start()
        return response

    def _on_stop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        directory = self.recorder.stop()
        response.success = True
        response.message = f"closed {directory}" if directory else "was not recording"
        return response

    def _on_snapshot(
        self, request: Trigger.Request, response: Trigger.Response
    ) -> Trigger.Response:
        self.recorder.snapshot()
        response.success = True
        response.message = f"keeping the next frame of {len(self.recorder.cameras)} camera(s)"
        return response

    def _report(self) -> None:
        """Publish /diagnostics and log the counters of every camera."""
        summary = self.recorder.summary()
        if self.selecting is not None:
            counts = self.selecting.selector.counts
            kept = ", ".join(f"{reason} {n}" for reason, n in counts.by_reason.items())
            summary += f" | selected {counts.kept} of {counts.seen} paired frames ({kept})"
        self.get_logger().info(summary)
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status = [self._camera_status(status) for status in self.recorder.status()]
        self._diagnostics.publish(array)

    def _camera_status(self, status: TopicStatus) -> DiagnosticStatus:
        counters = status.counters
        silent = counters.seen == self._seen_at_last_report[status.topic]
        self._seen_at_last_report[status.topic] = counters.seen
        recorder = self.recorder
        level, message = capture_health(recorder.recording, recorder.last_error, silent)
        return DiagnosticStatus(
            level=bytes([level]),
            name=f"{self.get_name()}: {status.topic}",
            message=message,
            hardware_id=status.topic,
            values=[
                KeyValue(key=key, value=value)
                for key, value in {
                    **status.values(recorder.session),
                    **(self.selecting.values() if self.selecting is not None else {}),
                }.items()
            ],
        )


def main(args: list[str] | None = None) -> int:
    return run_node(CaptureNode, NODE_NAME, args)


if __name__ == "__main__":
    sys.exit(main())
