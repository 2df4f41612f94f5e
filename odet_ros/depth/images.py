"""Depth images as drivers publish them, in metres.

``16UC1`` (and ``mono16``) hold millimetres, ``32FC1`` metres; 0, and NaN or inf for 32FC1, mean
no reading. ``compressedDepth`` (compressed_depth_image_transport) carries either.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from odet_ros.depth.errors import DepthError
from odet_ros.imaging import ImageConversionError, to_numpy
from odet_ros.interfaces.protocols import CompressedImageMessage, ImageMessage, is_compressed

MILLIMETRES = ("16UC1", "mono16")


def depth_image(msg: ImageMessage | CompressedImageMessage) -> NDArray[np.uint16 | np.float32]:
    """The depth image as it came, (H, W): uint16 millimetres or float32 metres, without a copy
    where the message allows (the 3D step reads only samples of it)."""
    try:
        native = to_numpy(msg)
    except ImageConversionError as error:
        raise DepthError(f"depth image: {error}") from error
    what = msg.format if is_compressed(msg) else msg.encoding
    if native.ndim != 2:
        raise DepthError(f"depth image {what!r} has {native.shape[2]} channels, not 1")
    if native.dtype not in (np.uint16, np.float32):
        raise DepthError(
            f"depth image {what!r} holds {native.dtype}: expected 16UC1 (millimetres) or 32FC1"
            " (metres)"
        )
    return native


def to_meters(depth: NDArray[np.uint16 | np.float32]) -> NDArray[np.float32]:
    """uint16 millimetres or float32 metres as float32 metres, NaN where there is no reading."""
    if depth.dtype == np.uint16:
        meters: NDArray[np.float32] = depth.astype(np.float32) * np.float32(0.001)
        meters[depth == 0] = np.nan
        return meters
    meters = depth.astype(np.float32, copy=True)
    meters[~np.isfinite(meters) | (meters <= 0)] = np.nan
    return meters


def depth_meters(msg: ImageMessage | CompressedImageMessage) -> NDArray[np.float32]:
    """The depth image as float32 metres (H, W), NaN where there is no reading."""
    return to_meters(depth_image(msg))
