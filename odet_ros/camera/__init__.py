"""Camera input without ROS: frame sources, reconnection, calibration files."""

from odet_ros.camera.calibration import (
    CameraCalibration,
    RegionOfInterest,
    load_calibration,
    resolve_calibration_url,
)
from odet_ros.camera.errors import SourceDroppedError, SourceEndedError
from odet_ros.camera.pump import FramePump
from odet_ros.camera.reconnect import Backoff, ReconnectingSource
from odet_ros.camera.sources import (
    FrameSource,
    SourceKind,
    SourceOptions,
    SourceSpec,
    open_source,
    parse_source,
)

__all__ = [
    "Backoff",
    "CameraCalibration",
    "FramePump",
    "FrameSource",
    "ReconnectingSource",
    "RegionOfInterest",
    "SourceDroppedError",
    "SourceEndedError",
    "SourceKind",
    "SourceOptions",
    "SourceSpec",
    "load_calibration",
    "open_source",
    "parse_source",
    "resolve_calibration_url",
]
