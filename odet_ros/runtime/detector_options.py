"""The detector node's parameters without ROS: their choices, their checks, what a change costs.

The node declares the parameters and hands their values here, at start-up and on every change,
so that a bad value is refused with the same message whichever way it came (launch file, params
file, ``ros2 param set``), and a node never starts with a value it would refuse later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from odet_ros.detection.backends import BACKEND_CHOICES
from odet_ros.detection.detector import DetectionSettings, Detector
from odet_ros.detection.errors import SettingError
from odet_ros.runtime.qos import RELIABILITIES
from odet_ros.tracking import TRACKERS

TRANSPORTS = ("raw", "compressed")
CLASS_ID_FORMATS = ("index", "name")


@dataclass(frozen=True)
class Choice:
    description: str
    choices: tuple[str, ...]


CHOICES: dict[str, Choice] = {
    "backend": Choice(
        "inference backend; auto follows the model file's suffix", ("auto", *BACKEND_CHOICES)
    ),
    "image_transport": Choice("subscribe to raw images or to <image>/compressed", TRANSPORTS),
    "qos_reliability": Choice(
        "camera subscription reliability; auto matches the publishers found", RELIABILITIES
    ),
    "class_id_format": Choice(
        "ObjectHypothesis.class_id: the class index (as in label_info) or the class name",
        CLASS_ID_FORMATS,
    ),
    "tracker": Choice("track ids in Detection2D.id", TRACKERS),
}

# A change to one of these loads the model again; the others apply to the loaded model.
RELOADING = ("model", "backend", "device", "imgsz", "num_threads", "half", "busy_wait")
# Parameters whose change restarts the tracker (its activation threshold is the score floor).
RETRACKING = ("tracker", "conf_threshold")


def check_choices(values: Mapping[str, Any]) -> None:
    """Raise SettingError naming the first parameter whose value is not one of its choices."""
    for name, value in values.items():
        choice = CHOICES.get(name)
        if choice is not None and value not in choice.choices:
            raise SettingError(
                f"parameter {name} must be one of {', '.join(choice.choices)}, not {value!r}"
            )


def detection_settings(detector: Detector, values: Mapping[str, Any]) -> DetectionSettings:
    """Thresholds and the class filter for ``detector`` from the parameter values; a class the
    model does not have is a SettingError naming it."""
    classes = values.get("classes")
    return DetectionSettings(
        conf=values["conf_threshold"],
        iou=values["iou_threshold"],
        max_det=values["max_detections"],
        classes=detector.class_ids(classes) if classes else None,
    )


def backend_argument(value: str) -> str | None:
    """``backend`` as load_detector takes it: None lets the file suffix decide."""
    return None if value == "auto" else value
