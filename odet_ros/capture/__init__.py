"""Dataset capture without ROS: a recording session on disk and the recorder that feeds it."""

from odet_ros.capture.errors import LowDiskError
from odet_ros.capture.recorder import DEFAULT_SAMPLING, CaptureRecorder, TopicStatus
from odet_ros.capture.session import CaptureSession, SessionSettings, free_disk_mb

__all__ = [
    "DEFAULT_SAMPLING",
    "CaptureRecorder",
    "CaptureSession",
    "LowDiskError",
    "SessionSettings",
    "TopicStatus",
    "free_disk_mb",
]
