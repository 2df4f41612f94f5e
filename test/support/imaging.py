"""Message classes and hand-built buffers shared by the imaging tests.

Messages are built byte by byte here, independently of odet_ros.imaging, in both containers the
library must read: rosbags dataclasses (read-only uint8 ndarray data, as read from a bag) and a
stand-in for rclpy's generated classes (array('B') data, keyword constructor, per-element check
for anything but array('B'), as rosidl_generator_py's setter does).
"""

from __future__ import annotations

import array

import cv2
import numpy as np
from rosbags.typesys import Stores, get_typestore

TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)
RosbagsImage = TYPESTORE.types["sensor_msgs/msg/Image"]
RosbagsCompressedImage = TYPESTORE.types["sensor_msgs/msg/CompressedImage"]
RosbagsHeader = TYPESTORE.types["std_msgs/msg/Header"]
RosbagsTime = TYPESTORE.types["builtin_interfaces/msg/Time"]

U8, U16 = np.dtype(np.uint8), np.dtype(np.uint16)

# The spec, written out independently of odet_ros.imaging.encodings:
# encoding -> (sample dtype, samples per pixel, native rows per image row)
LAYOUTS: dict[str, tuple[np.dtype, int, float]] = {
    "mono8": (U8, 1, 1),
    "mono16": (U16, 1, 1),
    "rgb8": (U8, 3, 1),
    "bgr8": (U8, 3, 1),
    "rgba8": (U8, 4, 1),
    "bgra8": (U8, 4, 1),
    "rgb16": (U16, 3, 1),
    "bgr16": (U16, 3, 1),
    "rgba16": (U16, 4, 1),
    "bgra16": (U16, 4, 1),
    "yuv422": (U8, 2, 1),
    "uyvy": (U8, 2, 1),
    "yuv422_yuy2": (U8, 2, 1),
    "yuyv": (U8, 2, 1),
    "nv21": (U8, 1, 1.5),
    "nv12": (U8, 1, 1.5),
}
for _pattern in ("rggb", "bggr", "gbrg", "grbg"):
    LAYOUTS[f"bayer_{_pattern}8"] = (U8, 1, 1)
    LAYOUTS[f"bayer_{_pattern}16"] = (U16, 1, 1)
for _depth, _dtype in {
    "8U": np.uint8,
    "8S": np.int8,
    "16U": np.uint16,
    "16S": np.int16,
    "32S": np.int32,
    "32F": np.float32,
    "64F": np.float64,
}.items():
    for _channels in (1, 2, 3, 4):
        LAYOUTS[f"{_depth}C{_channels}"] = (np.dtype(_dtype), _channels, 1)

# encoding -> (width, height) must be multiples of these
BLOCKS = {"yuv422": (2, 1), "uyvy": (2, 1), "yuv422_yuy2": (2, 1), "yuyv": (2, 1)}
BLOCKS |= {"nv21": (2, 2), "nv12": (2, 2)}


def random_native(encoding: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Random pixels in ``encoding``'s native layout (the full value range of its dtype)."""
    dtype, channels, rows_per_row = LAYOUTS[encoding]
    shape: tuple[int, ...] = (int(height * rows_per_row), width)
    shape += (channels,) if channels > 1 else ()
    if dtype.kind == "f":
        return (rng.standard_normal(shape) * 1000).astype(dtype)
    return rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max, shape, dtype, endpoint=True)


HEADER = RosbagsHeader(stamp=RosbagsTime(sec=12, nanosec=345), frame_id="camera_optical")


def _byte_array(value: object) -> array.array:
    if isinstance(value, array.array):
        assert value.typecode == "B", "The 'data' array.array() must have the type code of 'B'"
        return value
    assert all(isinstance(v, int) and 0 <= v < 256 for v in value)  # type: ignore[attr-defined]
    return array.array("B", value)  # type: ignore[arg-type]


class _RclpyStyleData:
    """rclpy's ``data`` field: whatever is assigned is stored as an ``array('B')``."""

    _data: array.array

    @property
    def data(self) -> array.array:
        return self._data

    @data.setter
    def data(self, value: object) -> None:
        self._data = _byte_array(value)


class RclpyStyleImage(_RclpyStyleData):
    """Stand-in for rclpy's sensor_msgs.msg.Image."""

    def __init__(self, **kwargs: object) -> None:
        self.header = kwargs.get("header")
        self.height = int(kwargs.get("height", 0))  # type: ignore[arg-type]
        self.width = int(kwargs.get("width", 0))  # type: ignore[arg-type]
        self.encoding = str(kwargs.get("encoding", ""))
        self.is_bigendian = int(kwargs.get("is_bigendian", 0))  # type: ignore[arg-type]
        self.step = int(kwargs.get("step", 0))  # type: ignore[arg-type]
        self._data = _byte_array(kwargs.get("data", array.array("B")))


class RclpyStyleCompressedImage(_RclpyStyleData):
    """Stand-in for rclpy's sensor_msgs.msg.CompressedImage."""

    def __init__(self, **kwargs: object) -> None:
        self.header = kwargs.get("header")
        self.format = str(kwargs.get("format", ""))
        self._data = _byte_array(kwargs.get("data", array.array("B")))


IMAGE_CLASSES = {"rosbags": RosbagsImage, "rclpy": RclpyStyleImage}
COMPRESSED_CLASSES = {"rosbags": RosbagsCompressedImage, "rclpy": RclpyStyleCompressedImage}


def data_field(kind: str, raw: bytes) -> object:
    """``raw`` as the given message kind holds it (rosbags: read-only, like a bag's bytes)."""
    return np.frombuffer(raw, np.uint8) if kind == "rosbags" else array.array("B", raw)


def padded_bytes(native: np.ndarray, step: int, big_endian: bool, fill: int = 0xAB) -> bytes:
    """Rows of ``native`` in the given byte order, each padded with ``fill`` up to ``step``."""
    order = ">" if big_endian else "<"
    rows = native.reshape(native.shape[0], -1).astype(native.dtype.newbyteorder(order))
    row_bytes = rows.view(np.uint8).reshape(native.shape[0], -1)
    out = np.full((native.shape[0], step), fill, np.uint8)
    out[:, : row_bytes.shape[1]] = row_bytes
    return out.tobytes()


def make_image(
    kind: str,
    encoding: str,
    height: int,
    width: int,
    step: int,
    raw: bytes,
    big_endian: bool = False,
) -> object:
    return IMAGE_CLASSES[kind](
        header=HEADER,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=int(big_endian),
        step=step,
        data=data_field(kind, raw),
    )


def make_compressed(kind: str, fmt: str, raw: bytes) -> object:
    return COMPRESSED_CLASSES[kind](header=HEADER, format=fmt, data=data_field(kind, raw))


def smooth_bgr(height: int, width: int) -> np.ndarray:
    """A smooth colour gradient: JPEG keeps it within a few grey levels."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256])
    return cv2.GaussianBlur(image.transpose(1, 2, 0).astype(np.uint8), (5, 5), 0)
