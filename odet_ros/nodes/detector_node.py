"""detector_node: camera images in, vision_msgs detections (and an annotated image) out.

ROS wiring only: parameters, QoS, publishers and subscriptions, diagnostics. The per-frame work
is :class:`odet_ros.runtime.FrameDetector`, the model is :func:`odet_ros.detection.load_detector`,
the parameters' checks are :mod:`odet_ros.runtime.detector_options`. Inference runs on a worker
thread that always takes the newest frame, so a model slower than the camera drops frames
(counted) instead of building a queue. The camera subscription and the status timer have a
callback group of their own and the node spins on two threads, so that loading a new model in
the parameter callback (seconds) holds up neither.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import ParameterUninitializedException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)
from rclpy.subscription import Subscription
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from odet_ros.depth import LocateSettings
from odet_ros.detection.detector import load_detector
from odet_ros.errors import OdetError
from odet_ros.imaging import ImageConversionError
from odet_ros.messages import VisionMsgClasses, label_info_msg, stamp_to_ns
from odet_ros.nodes.depth_output import DepthOptions, DepthOutput
from odet_ros.nodes.parameters import describe
from odet_ros.nodes.runner import run_node
from odet_ros.runtime import FrameDetector, LatestSlot, StreamStats
from odet_ros.runtime.depth_step import camera_info_beside
from odet_ros.runtime.detector_options import (
    CHOICES,
    RELOADING,
    RETRACKING,
    backend_argument,
    check_choices,
    detection_settings,
)
from odet_ros.runtime.health import detector_health
from odet_ros.runtime.qos import choose_reliability, incompatibility
from odet_ros.tracking import make_tracker

NO_IMAGE_WARNING_S = 5.0
LOG_PERIOD_S = 10.0


class DetectorNode(Node):
    """Runs one model on one camera stream."""

    def __init__(self, **node_options: Any) -> None:
        super().__init__("detector", **node_options)
        self._declare_parameters()
        check_choices({name: self._value(name) for name in CHOICES})
        self._vision = VisionMsgClasses.from_ros()
        self._lock = threading.Lock()  # guards self._frames between worker and callbacks
        self._frames = self._build_frame_detector(self._model_parameters())

        self._detections_pub = self.create_publisher(
            self._vision.Detection2DArray, "detections", 10
        )
        self._annotated_pub = self.create_publisher(
            Image, "image_annotated", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        )
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._label_pub = None
        if self._vision.LabelInfo is None:
            self.get_logger().warn(
                "this vision_msgs has no LabelInfo (added in 4.1): label_info is not published;"
                " class names are only in the model bundle"
            )
        else:
            latched = QoSProfile(
                depth=1,
                history=HistoryPolicy.KEEP_LAST,
                reliability=ReliabilityPolicy.RELIABLE,
                durability=DurabilityPolicy.TRANSIENT_LOCAL,
            )
            self._label_pub = self.create_publisher(self._vision.LabelInfo, "label_info", latched)
            self._publish_label_info()

        self._logged_input_for: FrameDetector | None = None  # the model whose input was logged
        self._slot: LatestSlot[Image | CompressedImage] = LatestSlot()
        self._stats = StreamStats()
        self._started = time.monotonic()
        self._received = 0
        self._stream_group = MutuallyExclusiveCallbackGroup()
        self._image_type, self._image_topic = self._image_input()
        self._reliability: str | None = None
        self._subscription: Subscription | None = None
        self._waiting_logged = False
        self._subscribe_when_ready()
        self._depth = self._depth_output()
        self._warned_publishers: set[str] = set()
        self._last_log = time.monotonic()
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(1.0, self._on_timer, callback_group=self._stream_group)
        self._worker = threading.Thread(target=self._run, name="odet-inference", daemon=True)
        self._worker.start()

    # -- parameters ---------------------------------------------------------------------------

    def _declare_parameters(self) -> None:
        def declare(name: str, value: Any, description: str, **constraints: Any) -> None:
            self.declare_parameter(name, value, describe(description, **constraints))

        declare("model", "", "model bundle folder, model file, or bundle name in models/")
        declare("device", "cpu", "cpu, cuda:N (Ultralytics, ONNX Runtime CUDA), or 0, 1 ...")
        declare("half", False, "half precision (Ultralytics on CUDA)")
        declare("conf_threshold", 0.25, "minimum score", floats=(0, 1))
        declare("iou_threshold", 0.7, "NMS IoU threshold", floats=(0, 1))
        declare(
            "imgsz",
            0,
            "network input size for a .pt or dynamic ONNX (multiple of 32); 0 uses the model's",
            ints=(0, 4096),
            step=32,
        )
        declare("max_detections", 300, "most boxes per image", ints=(1, 10000))
        # Typed without a value: an empty list default would be declared as a byte array.
        declare("classes", Parameter.Type.STRING_ARRAY, "class names (or ids) to keep; unset: all")
        declare("publish_annotated", True, "draw boxes on image_annotated while it has subscribers")
        declare("num_threads", 0, "CPU threads for inference; 0 = backend default", ints=(0, 256))
        declare(
            "busy_wait",
            True,
            "ONNX Runtime workers spin between ops: lowest latency; false: about a third of the"
            " CPU time at camera rate, for 1.2-1.4x the latency",
        )
        declare("qos_depth", 1, "camera subscription queue depth", ints=(1, 100), read_only=True)
        self._declare_depth_parameters(declare)
        for name, default in (
            ("backend", "auto"),
            ("image_transport", "raw"),
            ("qos_reliability", "best_effort"),
            ("class_id_format", "index"),
            ("tracker", "none"),
        ):
            choice = CHOICES[name]
            declare(
                name,
                default,
                choice.description,
                choices=choice.choices,
                read_only=name in ("image_transport", "qos_reliability"),
            )

    @staticmethod
    def _declare_depth_parameters(declare: Callable[..., None]) -> None:
        """The 3D step's parameters, all fixed at start-up (read-only)."""
        fixed = {"read_only": True}
        declare(
            "depth_topic",
            "",
            "aligned depth image (16UC1, 32FC1 or .../compressedDepth); empty: no 3D",
            **fixed,
        )
        declare(
            "camera_info_topic",
            "",
            "colour CameraInfo; empty: camera_info beside the image topic",
            **fixed,
        )
        declare(
            "depth_camera_info_topic",
            "",
            "the depth image's CameraInfo, used when its size"
            " differs; empty: camera_info beside depth_topic",
            **fixed,
        )
        declare(
            "depth_tolerance",
            0.05,
            "seconds between the stamps of a colour frame and its"
            " depth frame at most (also the longest wait for a late one)",
            floats=(0.0, 1.0),
            **fixed,
        )
        declare(
            "target_frame",
            "",
            "tf2 frame of the 3D detections; empty: the camera's optical frame",
            **fixed,
        )
        declare(
            "depth_min_range",
            0.1,
            "metres; nearer readings are ignored",
            floats=(0.0, 100.0),
            **fixed,
        )
        declare(
            "depth_max_range",
            20.0,
            "metres; farther readings are ignored",
            floats=(0.01, 1000.0),
            **fixed,
        )
        declare("depth_min_pixels", 12, "depth samples of an object's surface below which it"
                " gets no 3D position", ints=(1, 10000), **fixed)  # fmt: skip

    def _depth_output(self) -> DepthOutput | None:
        """The 3D step when ``depth_topic`` is set; its bad settings stop start-up."""
        depth_topic = self.get_parameter("depth_topic").value
        if not depth_topic:
            return None
        resolved = self.resolve_topic_name(depth_topic)
        camera_info = self.get_parameter("camera_info_topic").value
        depth_info = self.get_parameter("depth_camera_info_topic").value
        options = DepthOptions(
            depth_topic=resolved,
            camera_info_topic=self.resolve_topic_name(
                camera_info or camera_info_beside(self._image_topic)
            ),
            depth_camera_info_topic=self.resolve_topic_name(
                depth_info or camera_info_beside(resolved)
            ),
            tolerance_s=self.get_parameter("depth_tolerance").value,
            target_frame=self.get_parameter("target_frame").value,
            settings=LocateSettings(
                min_range=self.get_parameter("depth_min_range").value,
                max_range=self.get_parameter("depth_max_range").value,
                min_pixels=self.get_parameter("depth_min_pixels").value,
            ),
        )
        return DepthOutput(self, options, self._stream_group)

    def _value(self, name: str, overrides: dict[str, Any] | None = None) -> Any:
        """A parameter's value, ``overrides`` first; None for a typed parameter left unset
        (``classes``), which rclpy's get_parameter refuses to read."""
        if overrides and name in overrides:
            return overrides[name]
        try:
            return self.get_parameter(name).value
        except ParameterUninitializedException:
            return None

    def _model_parameters(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        names = (
            *RELOADING,
            "conf_threshold",
            "iou_threshold",
            "max_detections",
            "classes",
            "class_id_format",
            "tracker",
        )
        return {name: self._value(name, overrides) for name in names}

    def _build_frame_detector(self, values: dict[str, Any]) -> FrameDetector:
        """Load the model and everything that depends on it; raises OdetError naming the cause."""
        if not values["model"]:
            raise OdetError("parameter 'model' is empty: give a bundle folder, file or name")
        detector = load_detector(
            values["model"],
            backend=backend_argument(values["backend"]),
            device=values["device"],
            imgsz=values["imgsz"] or None,
            num_threads=values["num_threads"] or None,
            half=values["half"],
            busy_wait=values["busy_wait"],
        )
        detector.settings = detection_settings(detector, values)
        tracker = make_tracker(values["tracker"], activation_threshold=values["conf_threshold"])
        return FrameDetector(detector, self._vision, Image, values["class_id_format"], tracker)

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Validate and apply a change atomically: a bad value is rejected, never a crash.

        A new model is loaded here, beside the running one, which keeps serving frames until the
        new one is ready."""
        changes = {p.name: p.value for p in parameters}
        values = self._model_parameters(changes)
        try:
            check_choices(changes)
            if any(name in changes for name in RELOADING):
                frames = self._build_frame_detector(values)
                with self._lock:
                    self._frames = frames
                self.get_logger().info(f"model reloaded: {values['model']}")
            else:
                with self._lock:
                    frames = self._frames
                    frames.detector.settings = detection_settings(frames.detector, values)
                    frames.class_id_format = values["class_id_format"]
                    if any(name in changes for name in RETRACKING):
                        frames.tracker = make_tracker(
                            values["tracker"], activation_threshold=values["conf_threshold"]
                        )
        except OdetError as error:
            return SetParametersResult(successful=False, reason=str(error))
        if any(name in changes for name in (*RELOADING, "conf_threshold")):
            self._publish_label_info()
        return SetParametersResult(successful=True)

    # -- topics --------------------------------------------------------------------------------

    def _image_input(self) -> tuple[type, str]:
        """The camera message type and the resolved topic name (remappings applied)."""
        if self.get_parameter("image_transport").value == "compressed":
            return CompressedImage, self.resolve_topic_name("image") + "/compressed"
        return Image, self.resolve_topic_name("image")

    def _publisher_reliabilities(self) -> list[str]:
        return [
            _reliability_name(info.qos_profile.reliability)
            for info in self.get_publishers_info_by_topic(self._image_topic)
        ]

    def _subscribe_when_ready(self) -> None:
        """Subscribe with the configured reliability; for ``auto``, once a publisher has been
        discovered (before that there is nothing to match), and again as best effort when a
        best-effort publisher joins a reliable subscription. Called by the status timer."""
        setting = self.get_parameter("qos_reliability").value
        found = self._publisher_reliabilities() if setting == "auto" else []
        if setting == "auto" and not found:
            if not self._waiting_logged:
                self._waiting_logged = True
                self.get_logger().info(
                    f"qos_reliability auto: waiting for a publisher on {self._image_topic}"
                )
            return
        reliability = choose_reliability(setting, found)
        if self._subscription is not None and reliability == self._reliability:
            return
        if self._subscription is not None:
            self.destroy_subscription(self._subscription)
        self._reliability = reliability
        qos = QoSProfile(
            depth=self.get_parameter("qos_depth").value,
            history=HistoryPolicy.KEEP_LAST,
            reliability=(
                ReliabilityPolicy.RELIABLE
                if reliability == "reliable"
                else ReliabilityPolicy.BEST_EFFORT
            ),
            durability=DurabilityPolicy.VOLATILE,
        )
        self._subscription = self.create_subscription(
            self._image_type,
            self._image_topic,
            self._on_image,
            qos,
            callback_group=self._stream_group,
        )
        self.get_logger().info(
            f"subscribed to {self._image_topic} ({self._image_type.__name__}, {reliability})"
        )

    def _on_image(self, msg: Image | CompressedImage) -> None:
        self._received += 1
        self._slot.put(msg)

    def _publish_label_info(self) -> None:
        if self._label_pub is None:
            return
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id="")
        frames = self._frames
        self._label_pub.publish(
            label_info_msg(
                frames.detector.names,
                header,
                self._vision,
                frames.detector.settings.conf,
            )
        )

    # -- inference worker ----------------------------------------------------------------------

    def _run(self) -> None:
        while self.context.ok() and not self._slot.closed:
            msg = self._slot.take(timeout=0.5)
            if msg is None:
                continue
            want_annotated = (
                self.get_parameter("publish_annotated").value
                and self._annotated_pub.get_subscription_count() > 0
            )
            try:
                with self._lock:
                    frames = self._frames
                    result = frames.process(msg, annotate=want_annotated)
            except ImageConversionError as error:
                self._stats.record_failure()
                self.get_logger().warn(f"frame skipped: {error}", throttle_duration_sec=5.0)
                continue
            except Exception as error:  # a model failure must not kill the node
                self._stats.record_failure()
                self.get_logger().error(
                    f"inference failed: {type(error).__name__}: {error}", throttle_duration_sec=5.0
                )
                continue
            if not self.context.ok():  # shut down while inferring: nothing to publish to
                return
            self._detections_pub.publish(result.message)
            if result.annotated is not None:
                self._annotated_pub.publish(result.annotated)
            if self._depth is not None:
                self._depth.on_frame(
                    result, msg.header, frames.detector.names, frames.class_id_format
                )
            if frames is not self._logged_input_for:
                self._logged_input_for = frames
                self._log_network_input(frames, result.source_hw)
            now_ns = self.get_clock().now().nanoseconds
            latency_s = max(0.0, (now_ns - stamp_to_ns(msg.header.stamp)) / 1e9)
            self._stats.record(time.monotonic(), latency_s)

    def _log_network_input(self, frames: FrameDetector, source_hw: tuple[int, int]) -> None:
        """Once per model: the tensor the camera's frames become (a rectangle for a .pt, a
        dynamic ONNX or a --camera export; a square pads more and costs more)."""
        height, width = frames.detector.network_input(source_hw)
        self.get_logger().info(
            f"frames of {source_hw[1]}x{source_hw[0]} run at {width}x{height}"
            f" ({frames.detector.backend_name})"
        )

    # -- health ----------------------------------------------------------------------------------

    def _on_timer(self) -> None:
        self._subscribe_when_ready()
        self._check_publishers()
        now = time.monotonic()
        summary = self._stats.summary(now, dropped=self._slot.dropped)
        if self._received == 0 and now - self._started > NO_IMAGE_WARNING_S:
            publishers = self.count_publishers(self._image_topic)
            self.get_logger().warn(
                f"no image received on {self._image_topic} after"
                f" {NO_IMAGE_WARNING_S:.0f} s ({publishers} publisher(s)); check the remapping"
                " (image:=...), image_transport and qos_reliability",
                once=True,
            )
        level, message = detector_health(self._received, summary)
        status = DiagnosticStatus(
            level=bytes([level]),
            name=f"{self.get_name()}: object detection",
            message=message,
            hardware_id=str(self._frames.detector.model_path),
            values=[KeyValue(key=k, value=v) for k, v in summary.as_dict().items()],
        )
        array = DiagnosticArray(status=[status])
        if self._depth is not None:
            level, message, values = self._depth.status()
            array.status.append(
                DiagnosticStatus(
                    level=bytes([level]),
                    name=f"{self.get_name()}: 3D positions",
                    message=message,
                    hardware_id=str(self._frames.detector.model_path),
                    values=[KeyValue(key=k, value=v) for k, v in values.items()],
                )
            )
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)
        if now - self._last_log >= LOG_PERIOD_S:
            self._last_log = now
            self.get_logger().info(
                f"{summary.rate_hz:.1f} Hz, latency {summary.latency_ms_mean:.0f} ms"
                f" (p95 {summary.latency_ms_p95:.0f}), dropped {summary.dropped},"
                f" failed {summary.failed}"
            )

    def _check_publishers(self) -> None:
        """Warn once per publisher whose QoS can never reach our subscription."""
        if self._reliability is None:
            return
        for info in self.get_publishers_info_by_topic(self._image_topic):
            key = f"{info.node_namespace.rstrip('/')}/{info.node_name}"
            reason = incompatibility(
                _reliability_name(info.qos_profile.reliability),
                _durability_name(info.qos_profile.durability),
                self._reliability,
            )
            if reason and key not in self._warned_publishers:
                self._warned_publishers.add(key)
                self.get_logger().warn(
                    f"publisher {key} on {self._image_topic} cannot reach this node: {reason}"
                )

    def destroy_node(self) -> None:
        self._slot.close()
        if self._worker.is_alive():
            self._worker.join(timeout=5.0)
        super().destroy_node()


def _reliability_name(policy: ReliabilityPolicy) -> str:
    return {
        ReliabilityPolicy.RELIABLE: "reliable",
        ReliabilityPolicy.BEST_EFFORT: "best_effort",
    }.get(policy, "unknown")


def _durability_name(policy: DurabilityPolicy) -> str:
    return {
        DurabilityPolicy.TRANSIENT_LOCAL: "transient_local",
        DurabilityPolicy.VOLATILE: "volatile",
    }.get(policy, "unknown")


def main(args: list[str] | None = None) -> int:
    return run_node(DetectorNode, "detector", args, threads=2)


if __name__ == "__main__":
    sys.exit(main())
