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
from typing import Any

import cv2
import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, RegionOfInterest
from std_msgs.msg import Header

from odet_ros.camera import (
    CameraCalibration,
    FramePump,
    FrameSource,
    ReconnectingSource,
    load_calibration,
    open_source,
    parse_source,
    resolve_calibration_url,
)
from odet_ros.errors import OdetError
from odet_ros.imaging import numpy_to_compressed, numpy_to_image
from odet_ros.interfaces.topics import compressed_topic
from odet_ros.nodes.parameters import declare, values
from odet_ros.nodes.runner import run_node
from odet_ros.runtime.camera_parameters import (
    CAMERA_PARAMETERS,
    backoff,
    source_options,
)
from odet_ros.runtime.parameters import check_choices

NODE_NAME = "camera_node"
# What drivers publish with (rclcpp's default profile): reliable, the last 10 frames.
DRIVER_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


class CameraNode(Node):
    """Publishes each frame the pump reads with its CameraInfo."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        declare(self, CAMERA_PARAMETERS)
        settings = values(self, CAMERA_PARAMETERS)
        check_choices(CAMERA_PARAMETERS, settings)
        self._encoding = settings["encoding"]
        self._frame_id = settings["frame_id"]
        self._jpeg_quality = settings["jpeg_quality"]
        self._calibration = self._load_calibration(settings["camera_info_url"])
        source = self._open_source(settings)
        self._image_pub = self.create_publisher(Image, "image_raw", DRIVER_QOS)
        self._info_pub = self.create_publisher(CameraInfo, "camera_info", DRIVER_QOS)
        self._compressed_pub = None
        if settings["publish_compressed"]:
            self._compressed_pub = self.create_publisher(
                CompressedImage, compressed_topic("image_raw"), DRIVER_QOS
            )
        self._size_warned = False
        self._pump = FramePump(
            source, settings["fps"], self._publish_frame, self._on_end, logger=self.get_logger()
        )
        self._source = source
        self.get_logger().info(f"publishing {source.spec} at {settings['fps']:g} fps")
        self._pump.start()

    def close(self) -> None:
        self._pump.stop()
        self._source.close()

    def destroy_node(self) -> None:
        self.close()
        super().destroy_node()

    def _open_source(self, settings: dict[str, Any]) -> ReconnectingSource:
        """Open the source now (errors are fatal) and keep it open afterwards."""
        spec = parse_source(settings["source"])
        options = source_options(settings)

        def reopen() -> FrameSource:
            return open_source(spec, options)

        return ReconnectingSource(reopen(), reopen, backoff(settings), logger=self.get_logger())

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
