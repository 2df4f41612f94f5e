"""detector_node's parameters without ROS: the table, and what each value means to the detector.

The defaults, ranges and choices are read off the core's settings (DetectionSettings,
LocateSettings, DepthOptions, the backend and tracker lists), so ``odet detect``'s flags and the
node's parameters cannot drift apart. The node declares :data:`DETECTOR_PARAMETERS` and hands the
values back here, at start-up and on every change: a bad value is refused with the same message
whichever way it came (launch file, params file, ``ros2 param set``).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from odet_ros.depth import DepthOptions, LocateSettings
from odet_ros.detection.backends import BACKEND_CHOICES
from odet_ros.detection.detector import DetectionSettings, Detector, load_detector
from odet_ros.interfaces.protocols import MessageClass
from odet_ros.messages.vision import CLASS_ID_FORMATS, VisionMsgClasses
from odet_ros.runtime.errors import ParameterError
from odet_ros.runtime.frame_detector import FrameDetector
from odet_ros.runtime.parameters import spec, table
from odet_ros.runtime.qos import RELIABILITIES
from odet_ros.tracking import TRACKERS, Tracker, make_tracker

DEFAULT_DETECTION = DetectionSettings()
MODEL_CONF = -1.0  # conf_threshold: the model's own recommended threshold
DEFAULT_LOCATE = LocateSettings()
DEFAULT_DEPTH = DepthOptions(depth_topic="")
TRANSPORTS = ("raw", "compressed")
DEFAULT_BATCH_WINDOW_S = 0.005

DETECTOR_PARAMETERS = table(
    spec("model", "", "model bundle folder, model file, or bundle name in models/"),
    spec("backend", "auto", "inference backend; auto follows the model file's suffix",
         choices=("auto", *BACKEND_CHOICES)),
    spec("device", "cpu", "cpu, cuda:N (Ultralytics, ONNX Runtime CUDA), or 0, 1 ..."),
    spec("half", False, "half precision (Ultralytics on CUDA)"),
    spec("conf_threshold", MODEL_CONF, "minimum score; -1: the model's own, the best-F1"
         " confidence its bundle records (odet train, odet export), else"
         f" {DEFAULT_DETECTION.conf}", within=(-1, 1)),
    spec("iou_threshold", DEFAULT_DETECTION.iou, "NMS IoU threshold", within=(0, 1)),
    spec("imgsz", 0, "network input size for a .pt or dynamic ONNX (multiple of 32); 0 uses the"
         " model's", within=(0, 4096), step=32),
    spec("max_detections", DEFAULT_DETECTION.max_det, "most boxes per image", within=(1, 10000)),
    spec("classes", None, "class names (or ids) to keep; unset: all"),
    spec("class_id_format", "index", "ObjectHypothesis.class_id: the class index (as in"
         " label_info) or the class name", choices=CLASS_ID_FORMATS),
    spec("tracker", "none", "track ids in Detection2D.id", choices=TRACKERS),
    spec("publish_annotated", True, "draw boxes on image_annotated while it has subscribers"),
    spec("num_threads", 0, "CPU threads for inference; 0 = backend default (with several"
         " cameras, ONNX Runtime shares them out among its concurrent runs)", within=(0, 256)),
    spec("busy_wait", False, "ONNX Runtime workers spin between the ops of a run (never between"
         " frames): 1.2x less latency on idle cores, up to 2x more where other processes want"
         " them; false (the default): never spin"),
    spec("image_topics", None, "the cameras this node serves with one model (a name ending in"
         " /compressed is a CompressedImage topic); each camera's outputs go beside its image"
         " topic (/front/image_raw -> /front/detections); unset: one camera, the image remapping",
         read_only=True),
    spec("depth_topics", None, "with image_topics: each camera's aligned depth topic, same"
         " order, '' for a camera without depth", read_only=True),
    spec("batch_window", DEFAULT_BATCH_WINDOW_S, "seconds a camera's frame waits at most for"
         " the other cameras' to run through the model as one batch (never for a silent one)",
         within=(0, 0.1)),
    spec("image_transport", "raw", "subscribe to raw images or to <image>/compressed",
         choices=TRANSPORTS, read_only=True),
    spec("qos_reliability", "best_effort", "camera subscription reliability; auto matches the"
         " publishers found", choices=RELIABILITIES, read_only=True),
    spec("qos_depth", 1, "camera subscription queue depth", within=(1, 100), read_only=True),
    spec("lifecycle", False, "a managed node: wait for configure and activate (ros2 lifecycle,"
         " Nav2's lifecycle_manager) instead of starting at once", read_only=True),
    spec("autostart", False, "with lifecycle: configure and activate at start-up, as a lifecycle"
         " manager with autostart would; a failure leaves the node unconfigured", read_only=True),
    spec("release_on_deactivate", False, "free the model on deactivate (activate loads it again);"
         " false keeps it for a quick resume"),
    spec("depth_topic", DEFAULT_DEPTH.depth_topic, "aligned depth image (16UC1, 32FC1 or"
         " .../compressedDepth); empty: no 3D", read_only=True),
    spec("camera_info_topic", DEFAULT_DEPTH.camera_info_topic, "colour CameraInfo; empty:"
         " camera_info beside the image topic", read_only=True),
    spec("depth_camera_info_topic", DEFAULT_DEPTH.depth_camera_info_topic, "the depth image's"
         " CameraInfo, used when its size differs; empty: camera_info beside depth_topic",
         read_only=True),
    spec("depth_tolerance", DEFAULT_DEPTH.tolerance_s, "seconds between the stamps of a colour"
         " frame and its depth frame at most (also the longest wait for a late one)",
         within=(0, 1), read_only=True),
    spec("target_frame", DEFAULT_DEPTH.target_frame, "tf2 frame of the 3D detections; empty: the"
         " camera's optical frame", read_only=True),
    spec("depth_min_range", DEFAULT_LOCATE.min_range, "metres; nearer readings are ignored",
         within=(0, 100), read_only=True),
    spec("depth_max_range", DEFAULT_LOCATE.max_range, "metres; farther readings are ignored",
         within=(0.01, 1000), read_only=True),
    spec("depth_min_pixels", DEFAULT_LOCATE.min_pixels, "depth samples of an object's surface"
         " below which it gets no 3D position", within=(1, 10000), read_only=True),
)  # fmt: skip

# A change to one of these loads the model again; the others apply to the loaded model.
RELOADING = ("model", "backend", "device", "imgsz", "num_threads", "half", "busy_wait")
# A change to one of these restarts the tracker (its activation threshold is the score floor).
RETRACKING = ("tracker", "conf_threshold")
# A change to one of these changes what label_info says.
RELABELLING = (*RELOADING, "conf_threshold")


def load_model(values: Mapping[str, Any], cameras: int = 1) -> Detector:
    """The detector the values name, loaded and warmed up; raises OdetError naming the cause.
    For several ``cameras`` it is opened for as many concurrent runs, up to the cores (where
    the backend allows, :attr:`Detector.concurrent_runs`; ``num_threads`` is shared out)."""
    if not values["model"]:
        raise ParameterError("parameter model is empty: give a bundle folder, file or name")
    detector = load_detector(
        values["model"],
        backend=None if values["backend"] == "auto" else values["backend"],
        device=values["device"],
        imgsz=values["imgsz"] or None,
        num_threads=values["num_threads"] or None,
        half=values["half"],
        busy_wait=values["busy_wait"],
        concurrent_runs=max(1, min(cameras, os.cpu_count() or 1)),
    )
    detector.settings = detection_settings(detector, values)
    return detector


def conf_threshold(detector: Detector, values: Mapping[str, Any]) -> float:
    """The score threshold the values ask for: ``conf_threshold``, or for a negative one the
    model's own recommended threshold."""
    conf = float(values["conf_threshold"])
    return conf if conf >= 0 else detector.recommended_conf


def model_summary(detector: Detector, values: Mapping[str, Any]) -> str:
    """The line a node logs once a model is loaded: what runs, with what, at which threshold
    and why that one (the first thing to check when a robot detects too much or too little)."""
    if float(values["conf_threshold"]) >= 0:
        why = "conf_threshold"
    elif detector.bundle_conf is not None:
        why = "the model's best-F1 confidence"
    else:
        why = "the default: the model records no best-F1 confidence"
    names = ", ".join(detector.names[:6]) + (", ..." if len(detector.names) > 6 else "")
    return (
        f"model {detector.model_path} on {detector.backend_name}: {len(detector.names)} classes"
        f" ({names}), score threshold {detector.settings.conf:g} ({why})"
    )


def detection_settings(detector: Detector, values: Mapping[str, Any]) -> DetectionSettings:
    """Thresholds and the class filter for ``detector``; a class the model does not have is a
    SettingError naming it."""
    classes = values.get("classes")
    return DetectionSettings(
        conf=conf_threshold(detector, values),
        iou=values["iou_threshold"],
        max_det=values["max_detections"],
        classes=detector.class_ids(classes) if classes else None,
    )


def tracker(values: Mapping[str, Any], detector: Detector) -> Tracker | None:
    """The tracker the values name; it starts tracks at the detector's score threshold."""
    return make_tracker(values["tracker"], activation_threshold=conf_threshold(detector, values))


def frame_detectors(
    values: Mapping[str, Any],
    vision: VisionMsgClasses,
    image_type: MessageClass,
    cameras: Iterable[str],
) -> dict[str, FrameDetector]:
    """The model, loaded once, and for each camera what is built on it: its own tracker (track
    ids are per camera), the message format."""
    cameras = list(cameras)
    detector = load_model(values, len(cameras))
    return {
        camera: FrameDetector(
            detector, vision, image_type, values["class_id_format"], tracker(values, detector)
        )
        for camera in cameras
    }


def retune(
    frames: dict[str, FrameDetector], values: Mapping[str, Any], changed: Collection[str]
) -> dict[str, FrameDetector]:
    """Apply a change that needs no new model to every camera's FrameDetector (thresholds,
    classes, message format, trackers); a bad value raises before anything changes."""
    detector = next(iter(frames.values())).detector
    settings = detection_settings(detector, values)
    retrack = any(name in changed for name in RETRACKING)
    trackers = {
        camera: tracker(values, detector) if retrack else f.tracker for camera, f in frames.items()
    }
    detector.settings = settings
    for camera, camera_frames in frames.items():
        camera_frames.class_id_format = values["class_id_format"]
        camera_frames.tracker = trackers[camera]
    return frames


def depth_options(values: Mapping[str, Any], depth_topic: str | None = None) -> DepthOptions | None:
    """The 3D step's options, topics as given (the node resolves them), on ``depth_topic`` (a
    camera's; default the ``depth_topic`` parameter); None without a depth topic."""
    depth_topic = values["depth_topic"] if depth_topic is None else depth_topic
    if not depth_topic:
        return None
    return DepthOptions(
        depth_topic=depth_topic,
        camera_info_topic=values["camera_info_topic"],
        depth_camera_info_topic=values["depth_camera_info_topic"],
        tolerance_s=values["depth_tolerance"],
        target_frame=values["target_frame"],
        settings=LocateSettings(
            min_range=values["depth_min_range"],
            max_range=values["depth_max_range"],
            min_pixels=values["depth_min_pixels"],
        ),
    )
