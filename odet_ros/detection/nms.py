"""Class-aware non-maximum suppression in one OpenCV call.

Boxes of different classes are moved apart by a per-class offset larger than any image, so a
single class-agnostic NMS never lets one class suppress another (what Ultralytics does too).
``cv2.dnn.NMSBoxes`` exists in every OpenCV a robot may carry (>= 3.4) and measured 6-15x faster
than a numpy greedy loop on 50-500 candidates, and as fast as ``NMSBoxesBatched`` (OpenCV >= 4.7).
"""

from __future__ import annotations

import cv2
import numpy as np

CLASS_OFFSET = 7680.0  # Ultralytics' max_wh: wider than any image a detector sees


def class_aware_nms(
    xyxy: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    *,
    iou: float,
    max_det: int,
    agnostic: bool = False,
) -> np.ndarray:
    """Indices of the boxes kept, best score first, at most ``max_det``.

    A box is dropped when it overlaps a higher-scoring kept box of the same class (of any class
    when ``agnostic``) with IoU above ``iou``. A box of zero area overlaps nothing, as in
    torchvision's NMS (Ultralytics', YOLOv5's): OpenCV counts two of them, wherever they are, as
    identical and keeps one, and int8 outputs round small widths and heights to zero.
    """
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    boxes = np.asarray(xyxy, np.float32)
    if not agnostic:
        boxes = boxes + (np.asarray(class_ids, np.float32) * CLASS_OFFSET)[:, None]
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    scores32 = np.asarray(scores, np.float32)
    flat = ~((xywh[:, 2] > 0) & (xywh[:, 3] > 0))
    if not flat.any():
        return _opencv_nms(xywh, scores32, iou)[:max_det]
    solid = np.flatnonzero(~flat)
    kept = np.concatenate(
        [solid[_opencv_nms(xywh[solid], scores32[solid], iou)], np.flatnonzero(flat)]
    )
    # best first; among equal scores the lower index first, as OpenCV's stable sort orders them
    return kept[np.lexsort((kept, -scores32[kept]))][:max_det]


def _opencv_nms(xywh: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    keep = cv2.dnn.NMSBoxes(xywh, scores, 0.0, float(iou))  # type: ignore[arg-type]  # takes arrays; stubs say Sequence
    return np.asarray(keep, np.int64).reshape(-1)
