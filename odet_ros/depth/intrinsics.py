"""A pinhole camera model from sensor_msgs/CameraInfo, and the mapping between two images of one
view taken at different resolutions (an aligned depth image smaller than the colour image)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from odet_ros.depth.errors import DepthError
from odet_ros.interfaces.protocols import CameraInfoMessage

# Aligned depth and colour of one view share the optical axis: their principal points, scaled
# to a common size, agree within this many pixels (and the focal lengths within this fraction).
ALIGNED_PIXELS = 3.0
ALIGNED_FOCAL = 0.03


@dataclass(frozen=True)
class Intrinsics:
    """fx, fy, cx, cy in pixels of a ``width`` x ``height`` image (REP-104: K, or P for a
    rectified image)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_camera_info(cls, msg: CameraInfoMessage, rectified: bool = False) -> Intrinsics:
        """K of the raw image, or P of the rectified one; an uncalibrated (zero) K is an error."""
        values = [float(v) for v in (msg.p if rectified else msg.k)]
        if rectified:
            fx, cx, fy, cy = values[0], values[2], values[5], values[6]
        else:
            fx, cx, fy, cy = values[0], values[2], values[4], values[5]
        if fx <= 0 or fy <= 0:
            raise DepthError(
                f"camera_info of {msg.header.frame_id or 'the camera'} is uncalibrated"
                f" (fx={fx:g}, fy={fy:g}): 3D positions need the camera's intrinsics"
            )
        return cls(fx, fy, cx, cy, int(msg.width), int(msg.height))

    def scaled(self, width: int, height: int) -> Intrinsics:
        """The same camera at another resolution (binning or a resized image)."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(
            self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5,
            width, height,
        )  # fmt: skip

    def to(self, other: Intrinsics, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """Pixels (..., 2) of this image as pixels of ``other``, a view along the same axis."""
        u = (xy[..., 0] - self.cx) * (other.fx / self.fx) + other.cx
        v = (xy[..., 1] - self.cy) * (other.fy / self.fy) + other.cy
        mapped: NDArray[np.float64] = np.stack([u, v], axis=-1)
        return mapped

    def misalignment(self, other: Intrinsics) -> str | None:
        """Why ``other`` cannot be the same view (an unaligned depth camera), or None."""
        same = other.scaled(self.width, self.height)
        if abs(same.fx / self.fx - 1) > ALIGNED_FOCAL or abs(same.fy / self.fy - 1) > ALIGNED_FOCAL:
            return (
                f"focal lengths differ ({same.fx:.1f} vs {self.fx:.1f} px at"
                f" {self.width}x{self.height})"
            )
        if abs(same.cx - self.cx) > ALIGNED_PIXELS or abs(same.cy - self.cy) > ALIGNED_PIXELS:
            return (
                f"principal points differ (({same.cx:.1f}, {same.cy:.1f}) vs"
                f" ({self.cx:.1f}, {self.cy:.1f}) px)"
            )
        return None

    def back_project(
        self, u: NDArray[np.float64], v: NDArray[np.float64], z: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Points (N, 3) in the optical frame (x right, y down, z forward) of pixels at depth z:
        X = (u - cx) Z / fx, Y = (v - cy) Z / fy."""
        points: NDArray[np.float64] = np.stack(
            [(u - self.cx) * z / self.fx, (v - self.cy) * z / self.fy, z], axis=-1
        )
        return points
