"""camera_node's parameters without ROS: the table and the reading options it gives.

Every parameter is read when the node starts (read-only): a camera is reopened to change them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from odet_ros.camera import Backoff, SourceOptions
from odet_ros.runtime.parameters import spec, table

ENCODINGS = ("bgr8", "rgb8")
DEFAULT_FRAME_ID = "camera_optical_frame"  # REP-103: images carry the optical frame

CAMERA_PARAMETERS = table(
    spec("source", "", "V4L2 device index (0) or path (/dev/video0), video file, rtsp:// or"
         " http:// URL, or a folder of images", read_only=True),
    spec("fps", 30.0, "frames published per second", within=(0.1, 240), read_only=True),
    spec("width", 0, "frame width; 0 = the source's own", within=(0, 16384), read_only=True),
    spec("height", 0, "frame height; 0 = the source's own", within=(0, 16384), read_only=True),
    spec("frame_id", DEFAULT_FRAME_ID, "header.frame_id of image and camera_info: the camera's"
         " optical frame", read_only=True),
    spec("encoding", "bgr8", "Image encoding", choices=ENCODINGS, read_only=True),
    spec("loop", SourceOptions.loop, "replay a video file or image folder from the start at its"
         " end", read_only=True),
    spec("publish_compressed", False, "also publish image_raw/compressed (JPEG)", read_only=True),
    spec("jpeg_quality", 90, "JPEG quality of image_raw/compressed", within=(1, 100),
         read_only=True),
    spec("camera_info_url", "", "calibration YAML (camera_calibration format): file://,"
         " package:// or a path; empty = an uncalibrated camera_info", read_only=True),
    spec("reconnect_max_delay", 10.0, "longest wait, in seconds, between reconnection attempts",
         within=(0.5, 600), read_only=True),
)  # fmt: skip


def source_options(values: Mapping[str, Any]) -> SourceOptions:
    return SourceOptions(
        loop=values["loop"], width=values["width"], height=values["height"], fps=values["fps"]
    )


def backoff(values: Mapping[str, Any]) -> Backoff:
    return Backoff(maximum=values["reconnect_max_delay"])
