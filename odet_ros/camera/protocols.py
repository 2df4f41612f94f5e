"""The shape of sensor_msgs/CameraInfo as the camera code reads it, for rclpy and rosbags alike.

Only the camera and capture code read CameraInfo, so its Protocol lives here rather than beside
the image ones in :mod:`odet_ros.messages.protocols`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from odet_ros.messages.protocols import Header


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
