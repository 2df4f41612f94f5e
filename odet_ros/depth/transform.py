"""A rigid transform (tf2's translation and quaternion) applied to 3D detections."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from odet_ros.depth.errors import DepthError


@dataclass(frozen=True)
class Transform:
    """Maps points of a source frame into a target frame: p_target = R p_source + t, with R the
    unit quaternion ``rotation`` (x, y, z, w), as geometry_msgs/Transform holds it."""

    translation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)

    def __post_init__(self) -> None:
        norm = float(np.linalg.norm(self.rotation))
        if not np.isfinite(norm) or abs(norm - 1.0) > 1e-3:
            raise DepthError(f"transform rotation {self.rotation} is not a unit quaternion")

    @classmethod
    def from_msg(cls, transform: object) -> Transform:
        """From a geometry_msgs/Transform (rclpy or rosbags)."""
        t, q = transform.translation, transform.rotation  # type: ignore[attr-defined]
        return cls(
            (float(t.x), float(t.y), float(t.z)), (float(q.x), float(q.y), float(q.z), float(q.w))
        )

    def matrix(self) -> NDArray[np.float64]:
        """The 3x3 rotation matrix."""
        x, y, z, w = self.rotation
        rotation: NDArray[np.float64] = np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
            ]
        )
        return rotation

    def apply(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """Points (N, 3) of the source frame in the target frame."""
        moved: NDArray[np.float64] = np.asarray(points, np.float64) @ self.matrix().T + np.array(
            self.translation
        )
        return moved
