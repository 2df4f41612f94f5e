"""Box arithmetic on (N, 4) arrays, vectorised: conversions, clipping, overlap, rotation."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def cxcywh_to_xyxy(boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    half = boxes[:, 2:] / 2
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1)


def xyxy_to_cxcywh(boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.concatenate([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], axis=1)


def xywh_to_xyxy(boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    """COCO's (x, y, w, h) top-left boxes as corners."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def area(boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    sizes = np.clip(boxes[:, 2:] - boxes[:, :2], 0, None)
    return sizes[:, 0] * sizes[:, 1]


def clip_boxes(
    boxes: NDArray[np.float64],
    window: tuple[float, float, float, float],
    min_visibility: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Boxes cut to ``window`` (x0, y0, x1, y1) and a mask of those keeping more than
    ``min_visibility`` of their area (and any area at all)."""
    x0, y0, x1, y1 = window
    clipped = np.column_stack(
        [
            np.clip(boxes[:, 0], x0, x1),
            np.clip(boxes[:, 1], y0, y1),
            np.clip(boxes[:, 2], x0, x1),
            np.clip(boxes[:, 3], y0, y1),
        ]
    )
    before, after = area(boxes), area(clipped)
    keep = (after > 0) & (after >= min_visibility * before)
    return clipped, keep


def iou_matrix(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Intersection over union of every box of ``a`` with every box of ``b`` (xyxy)."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    sizes = np.clip(bottom_right - top_left, 0, None)
    inter: NDArray[np.float64] = sizes[..., 0] * sizes[..., 1]
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def rotated_bounds(
    boxes: NDArray[np.float64], degrees: NDArray[np.float64], pivot_at_corner: bool
) -> NDArray[np.float64]:
    """The axis-aligned bounds of xyxy boxes rotated clockwise (image y points down) by
    ``degrees`` about their top-left corner (Label Studio) or their centre (CVAT)."""
    corners = np.stack(
        [boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [2, 3]], boxes[:, [0, 3]]], axis=1
    )
    pivot = boxes[:, None, :2] if pivot_at_corner else (boxes[:, None, :2] + boxes[:, None, 2:]) / 2
    theta = np.radians(np.asarray(degrees, np.float64))[:, None]
    dx, dy = corners[..., 0] - pivot[..., 0], corners[..., 1] - pivot[..., 1]
    x = pivot[..., 0] + dx * np.cos(theta) - dy * np.sin(theta)
    y = pivot[..., 1] + dx * np.sin(theta) + dy * np.cos(theta)
    return np.column_stack([x.min(1), y.min(1), x.max(1), y.max(1)])
