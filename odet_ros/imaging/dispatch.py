"""One entry point for callers that take either sensor_msgs/Image or CompressedImage."""

from __future__ import annotations

import numpy as np

from odet_ros.imaging.compressed import compressed_to_numpy
from odet_ros.imaging.raw import image_to_numpy
from odet_ros.interfaces.protocols import CompressedImageMessage, ImageMessage, is_compressed


def to_numpy(msg: ImageMessage | CompressedImageMessage, color: str | None = None) -> np.ndarray:
    """Pixels of an Image (has ``encoding``) or a CompressedImage (has ``format``)."""
    if is_compressed(msg):
        return compressed_to_numpy(msg, color)
    return image_to_numpy(msg, color)
