"""The message shapes odet reads, as Protocols that rclpy's and rosbags' classes both fit.

The core takes messages from two sources: rclpy's generated classes in the nodes, rosbags'
dataclasses everywhere else (bag reading and writing, the CLI). Both carry the same fields, so
the code that reads them is typed against these Protocols instead of either library (rclpy is not
installed on a workstation, rosbags builds its classes at run time). A class that builds messages
is a ``MessageClass``: called with every field as a keyword argument, as both take them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # annotations only (they are strings at run time): no run-time dependency
    from typing_extensions import TypeIs

M = TypeVar("M")  # a message, of the class a builder was given


class Stamp(Protocol):
    """builtin_interfaces/Time."""

    @property
    def sec(self) -> int: ...

    @property
    def nanosec(self) -> int: ...


class Header(Protocol):
    """std_msgs/Header."""

    @property
    def stamp(self) -> Stamp: ...

    @property
    def frame_id(self) -> str: ...


class ImageMessage(Protocol):
    """sensor_msgs/Image; ``data`` is bytes, an array.array or a numpy uint8 array."""

    @property
    def header(self) -> Header: ...

    @property
    def height(self) -> int: ...

    @property
    def width(self) -> int: ...

    @property
    def encoding(self) -> str: ...

    @property
    def is_bigendian(self) -> int: ...

    @property
    def step(self) -> int: ...

    @property
    def data(self) -> Any: ...


class CompressedImageMessage(Protocol):
    """sensor_msgs/CompressedImage."""

    @property
    def header(self) -> Header: ...

    @property
    def format(self) -> str: ...

    @property
    def data(self) -> Any: ...


class RegionOfInterestMessage(Protocol):
    """sensor_msgs/RegionOfInterest."""

    @property
    def x_offset(self) -> int: ...

    @property
    def y_offset(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def width(self) -> int: ...

    @property
    def do_rectify(self) -> bool: ...


class CameraInfoMessage(Protocol):
    """sensor_msgs/CameraInfo; ``d``, ``k``, ``r``, ``p`` are float64 arrays (rosbags) or
    ``array('d')`` (rclpy): either iterates as floats."""

    @property
    def header(self) -> Header: ...

    @property
    def height(self) -> int: ...

    @property
    def width(self) -> int: ...

    @property
    def distortion_model(self) -> str: ...

    @property
    def d(self) -> Iterable[float]: ...

    @property
    def k(self) -> Iterable[float]: ...

    @property
    def r(self) -> Iterable[float]: ...

    @property
    def p(self) -> Iterable[float]: ...

    @property
    def binning_x(self) -> int: ...

    @property
    def binning_y(self) -> int: ...

    @property
    def roi(self) -> RegionOfInterestMessage: ...


class Vector3Message(Protocol):
    """geometry_msgs/Vector3 (and the x, y, z of Point)."""

    @property
    def x(self) -> float: ...

    @property
    def y(self) -> float: ...

    @property
    def z(self) -> float: ...


class QuaternionMessage(Vector3Message, Protocol):
    """geometry_msgs/Quaternion."""

    @property
    def w(self) -> float: ...


class TransformMessage(Protocol):
    """geometry_msgs/Transform."""

    @property
    def translation(self) -> Vector3Message: ...

    @property
    def rotation(self) -> QuaternionMessage: ...


class Stamped(Protocol):
    """Any message with a header (what the detector node answers with the same header)."""

    @property
    def header(self) -> Header: ...


def is_compressed(msg: ImageMessage | CompressedImageMessage) -> TypeIs[CompressedImageMessage]:
    """A CompressedImage has ``format``, an Image ``encoding``."""
    return hasattr(msg, "format")


# A message class: rclpy's generated class or one of a rosbags typestore, called with every field
# as a keyword argument.
MessageClass = Callable[..., Any]
