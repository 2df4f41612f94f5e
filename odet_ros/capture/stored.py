"""The messages a capture stores in its bag, built as rosbags messages from incoming ones.

Incoming messages may be rclpy or rosbags messages (they carry the same fields). A compressed
frame kept in compressed form is stored as it came (no JPEG re-encoding on the robot); a raw frame
kept raw is stored in its own encoding; the other two cases convert through bgr8.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from odet_ros.camera.calibration import CameraCalibration
from odet_ros.capture.topics import CAMERA_INFO_TYPE, COMPRESSED_TYPE, IMAGE_TYPE
from odet_ros.errors import OdetError
from odet_ros.imaging import numpy_to_compressed, numpy_to_image
from odet_ros.imaging.buffers import byte_field, message_bytes
from odet_ros.messages.header import make_header, stamp_to_ns


class StoredMessages:
    """Builds stored frames and CameraInfo with the classes of one typestore."""

    def __init__(self, typestore: Any, store_compressed: bool, jpeg_quality: int = 90) -> None:
        if not 1 <= jpeg_quality <= 100:
            raise OdetError(f"jpeg_quality must be within 1-100, got {jpeg_quality}")
        self._typestore = typestore
        self._types = typestore.types
        self.store_compressed = store_compressed
        self.jpeg_quality = jpeg_quality

    def header(self, msg: Any) -> Any:
        """A copy of an incoming message's header."""
        header = msg.header
        return make_header(self._typestore, stamp_to_ns(header.stamp), str(header.frame_id))

    def frame(self, msg: Any, compressed_input: bool, bgr8: Callable[[], np.ndarray]) -> Any:
        """The message to store for a kept frame; ``bgr8`` decodes it when a conversion is due."""
        header = self.header(msg)
        if self.store_compressed and compressed_input:
            cls = self._types[COMPRESSED_TYPE]
            data = byte_field(cls, message_bytes(msg.data, COMPRESSED_TYPE))
            return cls(header=header, format=str(msg.format), data=data)
        if not self.store_compressed and not compressed_input:
            cls = self._types[IMAGE_TYPE]
            return cls(
                header=header,
                height=int(msg.height),
                width=int(msg.width),
                encoding=str(msg.encoding),
                is_bigendian=int(msg.is_bigendian),
                step=int(msg.step),
                data=byte_field(cls, message_bytes(msg.data, IMAGE_TYPE)),
            )
        if self.store_compressed:
            cls = self._types[COMPRESSED_TYPE]
            return numpy_to_compressed(bgr8(), header, cls, quality=self.jpeg_quality)
        return numpy_to_image(bgr8(), "bgr8", header, self._types[IMAGE_TYPE])

    def camera_info(self, calibration: CameraCalibration, header: Any) -> Any:
        return calibration.to_message(
            header, self._types[CAMERA_INFO_TYPE], self._types["sensor_msgs/msg/RegionOfInterest"]
        )
