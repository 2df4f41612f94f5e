"""sensor_msgs/Image <-> numpy, for rclpy and rosbags messages alike.

Reading returns a strided view of ``msg.data`` (no copy) in the encoding's native layout:
padded rows are skipped by the row stride, and only data whose byte order differs from the
host's is copied (byte-swapped). A requested colour layout costs one OpenCV conversion, none
when the message already has it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from odet_ros.imaging.buffers import byte_field, message_bytes
from odet_ros.imaging.color import convert_color
from odet_ros.imaging.encodings import Encoding, lookup
from odet_ros.imaging.errors import ImageConversionError
from odet_ros.interfaces.protocols import Header, ImageMessage, M

HOST_IS_BIG_ENDIAN = sys.byteorder == "big"


def image_to_numpy(msg: ImageMessage, color: str | None = None) -> np.ndarray:
    """The pixels of a ``sensor_msgs/Image``.

    ``color=None``: shape (H, W) or (H, W, C) with the encoding's dtype (NV21/NV12: the
    (H*3/2, W) planes OpenCV takes), a view of ``msg.data`` unless a byte swap was needed or
    ``step`` is not a whole number of samples; read-only when ``msg.data`` is (rosbags, bytes):
    copy it before writing to it.
    ``color="bgr8"`` / ``"rgb8"`` / ``"mono8"`` (or another colour encoding): converted as
    cv_bridge's ``imgmsg_to_cv2(msg, color)`` does.
    """
    encoding = lookup(msg.encoding)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    data = message_bytes(msg.data, "sensor_msgs/Image")
    problem = _size_problem(encoding, height, width) or _step_problem(
        encoding, height, width, step, data.size
    )
    if problem:
        raise ImageConversionError(
            f"image {width}x{height} {encoding.name!r} (step {step}): {problem}"
        )
    rows = encoding.rows(height)
    swap = encoding.dtype.itemsize > 1 and bool(msg.is_bigendian) != HOST_IS_BIG_ENDIAN
    dtype = encoding.dtype.newbyteorder() if swap else encoding.dtype
    shape = encoding.shape(rows, width)
    strides = (step, encoding.pixel_bytes, encoding.dtype.itemsize)[: len(shape)]
    pixels = np.ndarray(shape, dtype, buffer=data, strides=strides)
    if swap or step % encoding.dtype.itemsize:
        # A swap needs new memory anyway; rows that split a sample are legal in ROS but not
        # describable to OpenCV, which would read them wrongly.
        pixels = pixels.astype(encoding.dtype)
    return pixels if color is None else convert_color(pixels, encoding, color)


def numpy_to_image(
    array: np.ndarray, encoding: str, header: Header, msg_type: Callable[..., M]
) -> M:
    """A ``msg_type`` (rclpy or rosbags sensor_msgs/msg/Image class) holding a copy of ``array``.

    ``array`` has the native layout of ``encoding`` (as ``image_to_numpy(msg)`` returns it).
    Rows are unpadded; ``is_bigendian`` follows the array's byte order.
    """
    target = lookup(encoding)
    pixels = np.asarray(array)
    height, width = image_size(pixels, target)
    big_endian = pixels.dtype.byteorder == ">" or (
        pixels.dtype.byteorder == "=" and HOST_IS_BIG_ENDIAN and pixels.dtype.itemsize > 1
    )
    return msg_type(
        header=header,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=int(big_endian),
        step=width * target.pixel_bytes,
        data=byte_field(msg_type, pixels),
    )


def image_size(pixels: np.ndarray, encoding: Encoding) -> tuple[int, int]:
    """(height, width) of an array in ``encoding``'s native layout, or ImageConversionError."""
    what = f"array of shape {pixels.shape} and dtype {pixels.dtype} for encoding {encoding.name!r}"
    if (pixels.dtype.kind, pixels.dtype.itemsize) != (encoding.dtype.kind, encoding.dtype.itemsize):
        raise ImageConversionError(f"{what}: the encoding needs dtype {encoding.dtype}")
    channels = () if encoding.channels == 1 else (encoding.channels,)
    shape = pixels.shape[:2] if not channels and pixels.shape[2:] == (1,) else pixels.shape
    if len(shape) != 2 + len(channels) or shape[2:] != channels:
        rows = "height*3/2" if encoding.planar_420 else "height"
        needed = f"({rows}, width, {encoding.channels})" if channels else f"({rows}, width)"
        raise ImageConversionError(f"{what}: the encoding needs shape {needed}")
    rows, width = shape[:2]
    if encoding.planar_420 and rows % 3:
        raise ImageConversionError(f"{what}: {rows} rows are not 3/2 of an image height")
    height = rows * 2 // 3 if encoding.planar_420 else rows
    problem = _size_problem(encoding, height, width)
    if problem:
        raise ImageConversionError(f"{what}: {problem}")
    return height, width


def _size_problem(encoding: Encoding, height: int, width: int) -> str | None:
    if width <= 0 or height <= 0:
        return "width and height must be positive"
    block_width, block_height = encoding.block
    if width % block_width or height % block_height:
        return (
            f"{encoding.name} needs a width divisible by {block_width} "
            f"and a height divisible by {block_height}"
        )
    return None


def _step_problem(encoding: Encoding, height: int, width: int, step: int, size: int) -> str | None:
    row_bytes, rows = width * encoding.pixel_bytes, encoding.rows(height)
    if step < row_bytes:
        return f"step is smaller than one row of {width} pixels ({row_bytes} bytes)"
    if size < step * rows:
        return f"data holds {size} bytes, step x {rows} rows needs {step * rows}"
    return None
