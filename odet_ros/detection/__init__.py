"""Object detection: the Detector interface, backends, pre/post-processing, model bundles."""

from odet_ros.detection.types import Detections

__all__ = ["Detections"]
