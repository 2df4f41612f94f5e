"""Object detection: the Detector interface, backends, pre/post-processing, model bundles.

``load_detector(model)`` opens a bundle folder, an installed bundle name or a model file
(.pt, .onnx, .tflite, .engine) and returns a :class:`Detector`; ``detector.detect(image)`` gives
:class:`Detections` in the image's pixels. Backends are imported only when a model needs them.
"""

from odet_ros.detection.bundle import ModelBundle, resolve_model
from odet_ros.detection.detector import DetectionSettings, Detector, load_detector
from odet_ros.detection.drawing import draw_detections
from odet_ros.detection.errors import ModelError, SettingError
from odet_ros.detection.types import Detections

__all__ = [
    "DetectionSettings",
    "Detections",
    "Detector",
    "ModelBundle",
    "ModelError",
    "SettingError",
    "draw_detections",
    "load_detector",
    "resolve_model",
]
