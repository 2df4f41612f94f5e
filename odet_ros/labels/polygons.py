"""Polygon arithmetic for instance outlines: area, bounds, clipping to a window, parts merged
into one ring, and outlines traced from a pixel mask.

A polygon is a (K, 2) float64 array of x, y vertices, closed implicitly (the last vertex joins
the first). Label files hold one polygon per object, normalised to the image; YOLO-seg has no
room for more, so an object in several parts (an occluder cutting it in two, a COCO polygon
list) is joined into one ring by zero-width bridges between the parts' nearest vertices, as
Ultralytics' own COCO converter does: the ring fills the same pixels as the parts.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

Polygon = NDArray[np.float64]
MIN_POINTS = 3
OUTLINE_TOLERANCE = 0.25  # pixels a traced outline may leave out or add at its vertices


def as_polygon(points: object) -> Polygon:
    """Any sequence of x, y pairs (or a flat x1, y1, x2, y2 ... list) as a (K, 2) array."""
    return np.asarray(points, np.float64).reshape(-1, 2)


def area(polygon: Polygon) -> float:
    """The enclosed area (shoelace formula; 0 for fewer than three points)."""
    if len(polygon) < MIN_POINTS:
        return 0.0
    x, y = polygon[:, 0], polygon[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def bounds(polygons: list[Polygon]) -> NDArray[np.float64]:
    """The (N, 4) xyxy bounding box of each polygon (zeros for an empty one)."""
    boxes = np.zeros((len(polygons), 4), np.float64)
    for index, polygon in enumerate(polygons):
        if len(polygon):
            boxes[index] = [*polygon.min(axis=0), *polygon.max(axis=0)]
    return boxes


def rectangle(box: NDArray[np.float64]) -> Polygon:
    """An xyxy box as its four corners, clockwise in image coordinates."""
    x0, y0, x1, y1 = np.asarray(box, np.float64).reshape(4)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def degenerate(polygon: Polygon, min_area: float = 0.0) -> bool:
    """Fewer than three distinct vertices, or no more area than ``min_area``."""
    return len(np.unique(polygon, axis=0)) < MIN_POINTS or area(polygon) <= min_area


def clip(polygon: Polygon, window: tuple[float, float, float, float]) -> Polygon:
    """The part of ``polygon`` inside the axis-aligned ``window`` (x0, y0, x1, y1).

    Sutherland-Hodgman against each edge of the window: exact for convex polygons; a concave
    polygon cut into several pieces stays one ring whose pieces are joined along the window's
    edge (zero-width, so it covers the same pixels). Empty (0, 2) when nothing is inside.
    """
    x0, y0, x1, y1 = window
    points = polygon
    for axis, limit, keep_above in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        if not len(points):
            break
        values = points[:, axis]
        inside = values >= limit if keep_above else values <= limit
        if inside.all():
            continue
        following = np.roll(points, -1, axis=0)
        next_inside = np.roll(inside, -1)
        out = []
        for point, after, here, there in zip(points, following, inside, next_inside, strict=True):
            if here:
                out.append(point)
            if here != there:
                t = (limit - point[axis]) / (after[axis] - point[axis])
                crossing = point + t * (after - point)
                crossing[axis] = limit
                out.append(crossing)
        points = np.array(out, np.float64).reshape(-1, 2)
    return points


def clip_polygons(
    polygons: list[Polygon],
    window: tuple[float, float, float, float],
    min_visibility: float = 0.0,
) -> tuple[list[Polygon], NDArray[np.bool_]]:
    """Polygons cut to ``window`` and a mask of those keeping more than ``min_visibility`` of
    their area (and any area at all), as :func:`odet_ros.labels.boxes.clip_boxes` for boxes."""
    clipped = [clip(polygon, window) for polygon in polygons]
    before = np.array([area(p) for p in polygons], np.float64)
    after = np.array([area(p) for p in clipped], np.float64)
    keep = (after > 0) & (after >= min_visibility * before)
    return clipped, keep.astype(bool)


def merge_parts(parts: list[Polygon]) -> Polygon:
    """Parts of one object as a single ring: each part spliced in at the vertex pair nearest to
    the ring so far, by a zero-width bridge out and back."""
    parts = [as_polygon(p) for p in parts if len(p)]
    if not parts:
        return np.zeros((0, 2), np.float64)
    ring = parts[0]
    for part in parts[1:]:
        distances = ((ring[:, None, :] - part[None, :, :]) ** 2).sum(-1)
        i, j = np.unravel_index(int(np.argmin(distances)), distances.shape)
        loop = np.roll(part, -j, axis=0)
        ring = np.concatenate([ring[: i + 1], loop, loop[:1], ring[i:]])
    return ring


def mask_outline(mask: NDArray[np.bool_] | NDArray[np.uint8]) -> Polygon:
    """The outline of a pixel mask (:func:`mask_parts`), parts joined into one ring; empty
    when the mask is."""
    return merge_parts(mask_parts(mask))


def mask_parts(mask: NDArray[np.bool_] | NDArray[np.uint8]) -> list[Polygon]:
    """The outer contours of a pixel mask in pixel coordinates (pixel x spans x to x + 1),
    largest first, traced at twice the resolution so that they run along the pixels' edges
    (within a quarter pixel; COCO's rasteriser fills the same pixels back). Holes are not kept
    (a YOLO-seg polygon cannot hold them)."""
    binary = np.ascontiguousarray(np.asarray(mask, np.uint8) > 0, np.uint8)
    doubled = cv2.resize(binary, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(doubled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    parts = []
    for contour in contours:
        simple = cv2.approxPolyDP(contour, OUTLINE_TOLERANCE * 2, closed=True)
        parts.append((simple.reshape(-1, 2).astype(np.float64) + 0.5) / 2)
    parts.sort(key=area, reverse=True)
    return parts
