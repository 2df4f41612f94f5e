"""Depth images of scenes with known geometry, as an RGB-D camera aligned to colour gives them.

A scene is standing cylinders (the sample's bottles, cups and cans), a wall, a floor and a pole
passing in front, in the colour camera's optical frame (x right, y down, z forward, metres).
Depth is ray-cast exactly per pixel; :class:`SensorModel` then adds what real sensors add: noise
that grows with the square of the distance, millimetre steps (16UC1), and holes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from odet_ros.depth.intrinsics import Intrinsics


@dataclass(frozen=True)
class Cylinder:
    """A vertical cylinder: axis at lateral ``x`` and depth ``z``, from ``top`` to ``bottom``
    (y grows downwards)."""

    x: float
    z: float
    radius: float
    top: float
    bottom: float

    @property
    def center(self) -> tuple[float, float, float]:
        return (self.x, (self.top + self.bottom) / 2, self.z)

    def box(self, camera: Intrinsics) -> NDArray[np.float64]:
        """Its whole silhouette's bounding box (xyxy pixels), whatever hides it."""
        hit = np.isfinite(_cylinder_depth(self, *_rays(camera)))
        rows, cols = np.nonzero(hit)
        return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], np.float64)


@dataclass(frozen=True)
class Pole:
    """A vertical slab at depth ``z`` covering lateral ``x0``-``x1``, top to bottom of the view."""

    x0: float
    x1: float
    z: float


@dataclass(frozen=True)
class Room:
    """A fronto-parallel wall at ``wall`` metres and a floor ``floor`` metres below the camera
    (None: no floor) whose vanishing line is image row ``horizon`` (None: the principal point's,
    a level camera; above it, a camera tilted down), with the objects and poles in front."""

    wall: float = 5.0
    floor: float | None = 0.6
    horizon: float | None = None
    objects: Sequence[Cylinder] = ()
    poles: Sequence[Pole] = ()


@dataclass(frozen=True)
class SensorModel:
    """What an RGB-D sensor does to the exact depth: ``noise`` x z^2 metres of Gaussian noise,
    and a ``holes`` share of pixels without a reading."""

    noise: float = 0.0
    holes: float = 0.0


def render_depth(
    camera: Intrinsics,
    room: Room,
    sensor: SensorModel = SensorModel(),
    rng: np.random.Generator | None = None,
) -> NDArray[np.float32]:
    """Depth in metres (H, W) float32, NaN where the sensor has no reading."""
    x, y = _rays(camera)
    depth = np.full(x.shape, float(room.wall))
    if room.floor is not None:
        below = y if room.horizon is None else y - (room.horizon - camera.cy) / camera.fy
        with np.errstate(divide="ignore"):
            floor = np.where(below > 0, room.floor / np.where(below > 0, below, 1.0), np.inf)
        depth = np.minimum(depth, floor)
    for pole in room.poles:
        lateral = x * pole.z
        depth = np.where(
            (lateral >= pole.x0) & (lateral <= pole.x1), np.minimum(depth, pole.z), depth
        )
    for cylinder in room.objects:
        depth = np.fmin(depth, _cylinder_depth(cylinder, x, y))
    if sensor.noise or sensor.holes:
        rng = rng or np.random.default_rng(0)
        depth = depth + rng.normal(0.0, 1.0, depth.shape) * sensor.noise * depth**2
        depth[rng.random(depth.shape) < sensor.holes] = np.nan
    return depth.astype(np.float32)


def to_millimetres(depth: NDArray[np.float32]) -> NDArray[np.uint16]:
    """16UC1 as drivers publish it: millimetres, 0 where there is no reading."""
    millimetres = np.where(np.isfinite(depth), np.round(depth * 1000.0), 0)
    return np.clip(millimetres, 0, 65535).astype(np.uint16)


def _rays(camera: Intrinsics) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per pixel centre, the ray (x, y, 1) in the optical frame."""
    u = np.arange(camera.width, dtype=np.float64)
    v = np.arange(camera.height, dtype=np.float64)
    x = (u[None, :] - camera.cx) / camera.fx
    y = (v[:, None] - camera.cy) / camera.fy
    return np.broadcast_to(x, (camera.height, camera.width)), np.broadcast_to(
        y, (camera.height, camera.width)
    )


def _cylinder_depth(
    cylinder: Cylinder, x: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Depth of the ray (x, y, 1) t at its nearest hit on the cylinder's side, NaN on a miss:
    (t x - X)^2 + (t - Z)^2 = R^2, the hit's height t y within [top, bottom]."""
    a = x * x + 1.0
    b = x * cylinder.x + cylinder.z
    c = cylinder.x**2 + cylinder.z**2 - cylinder.radius**2
    discriminant = b * b - a * c
    with np.errstate(invalid="ignore"):
        t = (b - np.sqrt(discriminant)) / a
    height = t * y
    hit = (discriminant >= 0) & (t > 0) & (height >= cylinder.top) & (height <= cylinder.bottom)
    return np.where(hit, t, np.nan)
