"""camera_node: a camera for robots without a driver, or footage replayed as a camera.

Publishes ``image_raw`` (sensor_msgs/Image), ``camera_info`` and, when asked,
``image_raw/compressed`` (JPEG) from a V4L2 device, a video file, an RTSP/HTTP stream or a folder
of images, at ``fps``, as camera drivers do: reliable, so that best-effort and reliable
subscribers (rviz, most C++ nodes) both receive them (REP-2003). A device or stream that drops is
reopened with exponential back-off; a source that cannot be opened at start-up is an error and a
non-zero exit; a finite source without ``loop`` ends the node. Reading, pacing and reconnecting
are :mod:`odet_ros.camera` (on a thread of their own); this module is ROS wiring.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

import cv2
import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, RegionOfInterest
from std_msgs.msg import Header

from odet_ros.camera import (
    Backoff,
    CameraCalibration,
    FramePump,
    FrameSource,
    ReconnectingSource,
    SourceOptions,
    load_calibration,
    open_source,
    parse_source,
    resolve_calibration_url,
)
from odet_ros.errors import OdetError
from odet_ros.imaging import numpy_to_compressed, numpy_to_image
from odet_ros.nodes.parameters import describe
from odet_ros.nodes.runner import run_node

NODE_NAME = "camera_node"
ENCODINGS = ("bgr8", "rgb8")
# What drivers publish with (rclcpp's default profile): reliable, the last 10 frames.
DRIVER_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


_descriptor = partial(describe, read_only=True)  # all are read when the node starts


# name: (default, descriptor); all are read when the node starts.
PARAMETERS = {
    "source": (
        "",
        _descriptor(
            "V4L2 device index (0) or path (/dev/video0), video file, rtsp:// or http:// URL, "
            "or a folder of images"
        ),
    ),
    "fps": (30.0, _descriptor("frames published per second", floats=(0.1, 240))),
    "width": (0, _descriptor("frame width; 0 = the source's own", ints=(0, 16384))),
    "height": (0, _descriptor("frame height; 0 = the source's own", ints=(0, 16384))),
    "frame_id": (
        "camera_optical_frame",
        _descriptor("header.frame_id of image and camera_info: the camera's optical frame"),
    ),
    "encoding": ("bgr8", _descriptor("Image encoding: bgr8 or rgb8")),
    "loop": (False, _descriptor("replay a video file or image folder from the start at its end")),
    "publish_compressed": (False, _descriptor("also publish image_raw/compressed (JPEG)")),
    "jpeg_quality": (90, _descriptor("JPEG quality of image_raw/compressed", ints=(1, 100))),
    "camera_info_url": (
        "",
        _descriptor(
            "calibration YAML (camera_calibration format): file://, package:// or a path; "
            "empty = an uncalibrated camera_info"
        ),
    ),
    "reconnect_max_delay": (
        10.0,
        _descriptor("longest wait, in seconds, between reconnection attempts", floats=(0.5, 600)),
    ),
}


class CameraNode(Node):
    """Publishes each frame the pump reads with its CameraInfo."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        for name, (default, descriptor) in PARAMETERS.items():
            self.declare_parameter(name, default, descriptor)
        self._encoding = self._param("encoding")
        if self._encoding not in ENCODINGS:
            raise OdetError(
                f"parameter encoding must be one of {ENCODINGS}, not {self._encoding!r}"
            )
        self._frame_id = self._param("frame_id")
        self._jpeg_quality = self._param("jpeg_quality")
        self._calibration = self._load_calibration(self._param("camera_info_url"))
        source = self._open_source()
        self._image_pub = self.create_publisher(Image, "image_raw", DRIVER_QOS)
        self._info_pub = self.create_publisher(CameraInfo, "camera_info", DRIVER_QOS)
        self._compressed_pub = None
        if self._param("publish_compressed"):
            self._compressed_pub = self.create_publisher(
                CompressedImage, "image_raw/compressed", DRIVER_QOS
            )
        self._size_warned = False
        self._pump = FramePump(
            source, self._param("fps"), self._publish_frame, self._on_end, logger=self.get_logger()
        )
        self._source = source
        self.get_logger().info(f"publishing {source.spec} at {self._param('fps'):g} fps")
        self._pump.start()

    def close(self) -> None:
        self._pump.stop()
        self._source.close()

    def destroy_node(self) -> None:
        self.close()
        super().destroy_node()

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _open_source(self) -> ReconnectingSource:
        """Open the source now (errors are fatal) and keep it open afterwards."""
        spec = parse_source(self._param("source"))
        options = SourceOptions(
            loop=self._param("loop"),
            width=self._param("width"),
            height=self._param("height"),
            fps=self._param("fps"),
        )

        def reopen() -> FrameSource:
            return open_source(spec, options)

        backoff = Backoff(maximum=self._param("reconnect_max_delay"))
        return ReconnectingSource(reopen(), reopen, backoff, logger=self.get_logger())

    def _load_calibration(self, url: str) -> CameraCalibration | None:
        if not url:
            return None
        calibration = load_calibration(resolve_calibration_url(url))
        self.get_logger().info(f"camera_info from {url} ({calibration.camera_name or 'unnamed'})")
        return calibration

    def _on_end(self, error: OdetError) -> None:
        self.get_logger().info(f"{error}: stopping")
        self.context.try_shutdown()

    def _publish_frame(self, frame: np.ndarray) -> None:
        if not self.context.ok():  # a signal shut ROS down; the pump stops next
            return
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._frame_id)
        pixels = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if self._encoding == "rgb8" else frame
        self._image_pub.publish(numpy_to_image(pixels, self._encoding, header, Image))
        if self._compressed_pub is not None and self._compressed_pub.get_subscription_count():
            self._compressed_pub.publish(
                numpy_to_compressed(frame, header, CompressedImage, quality=self._jpeg_quality)
            )
        self._info_pub.publish(self._camera_info(frame, header))

    def _camera_info(self, frame: np.ndarray, header: Header) -> CameraInfo:
        height, width = frame.shape[:2]
        calibration = self._calibration or CameraCalibration(width=width, height=height)
        if (calibration.width, calibration.height) != (width, height) and not self._size_warned:
            self._size_warned = True
            self.get_logger().warning(
                f"frames are {width}x{height} but the calibration is for "
                f"{calibration.width}x{calibration.height}"
            )
        return calibration.to_message(header, CameraInfo, RegionOfInterest)


def main(args: list[str] | None = None) -> int:
    return run_node(CameraNode, NODE_NAME, args)


if __name__ == "__main__":
    sys.exit(main())
