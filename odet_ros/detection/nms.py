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
    when ``agnostic``) with IoU above ``iou``.
    """
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    boxes = np.asarray(xyxy, np.float32)
    if not agnostic:
        boxes = boxes + (np.asarray(class_ids, np.float32) * CLASS_OFFSET)[:, None]
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    scores32 = np.asarray(scores, np.float32)
    keep = cv2.dnn.NMSBoxes(xywh, scores32, 0.0, float(iou))  # type: ignore[arg-type]  # takes arrays; stubs say Sequence
    return np.asarray(keep, np.int64).reshape(-1)[:max_det]
