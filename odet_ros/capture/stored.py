"""The messages a capture stores in its bag, built as rosbags messages from incoming ones.

Incoming messages may be rclpy or rosbags messages (they carry the same fields). A compressed
frame kept in compressed form is stored as it came (no JPEG re-encoding on the robot); a raw frame
kept raw is stored in its own encoding; the other two cases convert through bgr8.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from odet_ros.camera.calibration import CameraCalibration
from odet_ros.capture.topics import CAMERA_INFO_TYPE, COMPRESSED_TYPE, IMAGE_TYPE
from odet_ros.errors import OdetError
from odet_ros.imaging import numpy_to_compressed, numpy_to_image
from odet_ros.imaging.buffers import byte_field, message_bytes
from odet_ros.interfaces.header import make_header, stamp_to_ns
from odet_ros.interfaces.protocols import is_compressed

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore

    from odet_ros.interfaces.protocols import (
        CameraInfoMessage,
        CompressedImageMessage,
        Header,
        ImageMessage,
        MessageClass,
        Stamped,
    )


class StoredMessages:
    """Builds stored frames and CameraInfo with the classes of one typestore."""

    def __init__(
        self, typestore: Typestore, store_compressed: bool, jpeg_quality: int = 90
    ) -> None:
        if not 1 <= jpeg_quality <= 100:
            raise OdetError(f"jpeg_quality must be within 1-100, got {jpeg_quality}")
        self._typestore = typestore
        self.store_compressed = store_compressed
        self.jpeg_quality = jpeg_quality

    def text(self, data: str) -> object:
        """A std_msgs/String (the selection records)."""
        return self._typestore.types["std_msgs/msg/String"](data=data)

    def header(self, msg: Stamped) -> Header:
        """A copy of an incoming message's header."""
        header = msg.header
        copied: Header = make_header(
            self._typestore, stamp_to_ns(header.stamp), str(header.frame_id)
        )
        return copied

    def frame(
        self, msg: ImageMessage | CompressedImageMessage, bgr8: Callable[[], NDArray[np.uint8]]
    ) -> ImageMessage | CompressedImageMessage:
        """The message to store for a kept frame; ``bgr8`` decodes it when a conversion is due."""
        header = self.header(msg)
        stored: ImageMessage | CompressedImageMessage
        if self.store_compressed and is_compressed(msg):
            cls = self._class(COMPRESSED_TYPE)
            data = byte_field(cls, message_bytes(msg.data, COMPRESSED_TYPE))
            stored = cls(header=header, format=str(msg.format), data=data)
        elif not self.store_compressed and not is_compressed(msg):
            cls = self._class(IMAGE_TYPE)
            stored = cls(
                header=header,
                height=int(msg.height),
                width=int(msg.width),
                encoding=str(msg.encoding),
                is_bigendian=int(msg.is_bigendian),
                step=int(msg.step),
                data=byte_field(cls, message_bytes(msg.data, IMAGE_TYPE)),
            )
        elif self.store_compressed:
            cls = self._class(COMPRESSED_TYPE)
            stored = numpy_to_compressed(bgr8(), header, cls, quality=self.jpeg_quality)
        else:
            stored = numpy_to_image(bgr8(), "bgr8", header, self._class(IMAGE_TYPE))
        return stored

    def camera_info(self, calibration: CameraCalibration, header: Header) -> CameraInfoMessage:
        info: CameraInfoMessage = calibration.to_message(
            header, self._class(CAMERA_INFO_TYPE), self._class("sensor_msgs/msg/RegionOfInterest")
        )
        return info

    def _class(self, msgtype: str) -> MessageClass:
        """The typestore's class of ``msgtype``, which rosbags types without its fields."""
        return self._typestore.types[msgtype]
