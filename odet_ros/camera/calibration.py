"""Camera calibration: the camera_calibration / camera_info_manager YAML file and its URL.

``CameraCalibration`` holds the fields of sensor_msgs/CameraInfo other than the header, as plain
Python values, so the camera node can publish it, the capture session and the sample can store it
(and tell when it changed) without depending on each other's message classes: ``from_message``
reads and ``to_message`` builds a CameraInfo of rclpy or of rosbags alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from odet_ros.errors import OdetError

if TYPE_CHECKING:
    from odet_ros.interfaces.protocols import CameraInfoMessage, Header, M

DEFAULT_DISTORTION_MODEL = "plumb_bob"
_MATRICES = {  # YAML key -> (CameraInfo field, rows, cols or None for "any")
    "camera_matrix": ("k", 3, 3),
    "distortion_coefficients": ("d", 1, None),
    "rectification_matrix": ("r", 3, 3),
    "projection_matrix": ("p", 3, 4),
}


@dataclass(frozen=True)
class RegionOfInterest:
    x_offset: int = 0
    y_offset: int = 0
    height: int = 0
    width: int = 0
    do_rectify: bool = False


@dataclass(frozen=True)
class CameraCalibration:
    """sensor_msgs/CameraInfo without its header."""

    width: int
    height: int
    distortion_model: str = DEFAULT_DISTORTION_MODEL
    d: tuple[float, ...] = ()
    k: tuple[float, ...] = (0.0,) * 9
    r: tuple[float, ...] = (0.0,) * 9
    p: tuple[float, ...] = (0.0,) * 12
    binning_x: int = 0
    binning_y: int = 0
    roi: RegionOfInterest = RegionOfInterest()
    camera_name: str = ""

    @classmethod
    def pinhole(cls, width: int, height: int, focal: float) -> CameraCalibration:
        """An ideal camera: focal length ``focal`` pixels, centred, no distortion."""
        cx, cy = width / 2, height / 2
        return cls(
            width=width,
            height=height,
            d=(0.0,) * 5,
            k=(focal, 0.0, cx, 0.0, focal, cy, 0.0, 0.0, 1.0),
            r=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
            p=(focal, 0.0, cx, 0.0, 0.0, focal, cy, 0.0, 0.0, 0.0, 1.0, 0.0),
        )

    def to_message(
        self, header: Header, camera_info_type: Callable[..., M], roi_type: Callable[..., object]
    ) -> M:
        """A CameraInfo of ``camera_info_type`` (rclpy's or a rosbags typestore's) carrying
        ``header``; arrays go in as float64 numpy arrays, which both accept."""
        roi = self.roi
        return camera_info_type(
            header=header,
            height=self.height,
            width=self.width,
            distortion_model=self.distortion_model,
            d=np.array(self.d, np.float64),
            k=np.array(self.k, np.float64),
            r=np.array(self.r, np.float64),
            p=np.array(self.p, np.float64),
            binning_x=self.binning_x,
            binning_y=self.binning_y,
            roi=roi_type(
                x_offset=roi.x_offset,
                y_offset=roi.y_offset,
                height=roi.height,
                width=roi.width,
                do_rectify=roi.do_rectify,
            ),
        )

    @classmethod
    def from_message(cls, msg: CameraInfoMessage) -> CameraCalibration:
        """From a CameraInfo message (rclpy or rosbags)."""
        roi = msg.roi
        return cls(
            width=int(msg.width),
            height=int(msg.height),
            distortion_model=str(msg.distortion_model),
            d=tuple(float(v) for v in msg.d),
            k=tuple(float(v) for v in msg.k),
            r=tuple(float(v) for v in msg.r),
            p=tuple(float(v) for v in msg.p),
            binning_x=int(msg.binning_x),
            binning_y=int(msg.binning_y),
            roi=RegionOfInterest(
                int(roi.x_offset),
                int(roi.y_offset),
                int(roi.height),
                int(roi.width),
                bool(roi.do_rectify),
            ),
        )


def resolve_calibration_url(url: str) -> Path:
    """The file a camera_info_url names: ``file://``, ``package://`` or a plain path."""
    if url.startswith("file://"):
        return Path(url[len("file://") :]).expanduser()
    if url.startswith("package://"):
        package, _, relative = url[len("package://") :].partition("/")
        try:
            from ament_index_python.packages import (
                PackageNotFoundError,
                get_package_share_directory,
            )
        except ImportError as error:
            raise OdetError(f"camera_info_url {url}: package:// needs a ROS 2 install") from error
        try:
            return Path(get_package_share_directory(package)) / relative
        except PackageNotFoundError as error:
            raise OdetError(f"camera_info_url {url}: package {package} not found") from error
    if "://" in url:
        raise OdetError(f"camera_info_url {url}: only file://, package:// or a path are supported")
    return Path(url).expanduser()


def load_calibration(path: str | Path) -> CameraCalibration:
    """Parse a camera_calibration (ost.yaml) / camera_info_manager YAML file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise OdetError(f"cannot read camera calibration {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise OdetError(f"camera calibration {path} is not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise OdetError(f"camera calibration {path} is not a YAML mapping")
    matrices = {
        field: _matrix(path, document, key, rows, cols)
        for key, (field, rows, cols) in _MATRICES.items()
    }
    return CameraCalibration(
        width=_size(path, document, "image_width"),
        height=_size(path, document, "image_height"),
        distortion_model=str(document.get("distortion_model", DEFAULT_DISTORTION_MODEL)),
        camera_name=str(document.get("camera_name", "")),
        d=matrices["d"],
        k=matrices["k"],
        r=matrices["r"],
        p=matrices["p"],
    )


def _size(path: Path, document: dict[str, Any], key: str) -> int:
    value = document.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise OdetError(f"camera calibration {path}: {key} must be a positive integer, got {value}")
    return value


def _matrix(
    path: Path, document: dict[str, Any], key: str, rows: int, cols: int | None
) -> tuple[float, ...]:
    entry = document.get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("data"), list):
        raise OdetError(f"camera calibration {path}: {key} needs rows, cols and a data list")
    data = entry["data"]
    shape = (entry.get("rows"), entry.get("cols"))
    expected_cols = len(data) if cols is None else cols
    if shape != (rows, expected_cols) or len(data) != rows * expected_cols:
        raise OdetError(
            f"camera calibration {path}: {key} must be {rows}x{cols or 'N'}, "
            f"got rows={shape[0]} cols={shape[1]} with {len(data)} values"
        )
    try:
        values = tuple(float(v) for v in data)
    except (TypeError, ValueError) as error:
        raise OdetError(f"camera calibration {path}: {key} holds a non-number") from error
    if not all(math.isfinite(v) for v in values):
        raise OdetError(f"camera calibration {path}: {key} holds a non-finite number")
    return values
