"""Draw detections on an image: boxes coloured by class, with the class name and score.

Used for ``odet detect --annotated`` and the node's ``image_annotated`` topic. Boxes of one class
go in one ``cv2.polylines`` call; labels need one ``putText`` each (OpenCV draws text no other
way), bounded by ``max_det``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from odet_ros.detection.types import Detections

# Ultralytics' default palette, BGR
PALETTE = np.array(
    [
        (56, 56, 255),
        (151, 157, 255),
        (31, 112, 255),
        (29, 178, 255),
        (49, 210, 207),
        (10, 249, 72),
        (23, 204, 146),
        (134, 219, 61),
        (52, 147, 26),
        (187, 212, 0),
        (168, 153, 44),
        (255, 194, 0),
        (147, 69, 52),
        (255, 115, 100),
        (236, 24, 0),
        (255, 56, 132),
        (133, 0, 82),
        (255, 56, 203),
        (200, 149, 255),
        (199, 55, 255),
    ],
    np.uint8,
)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def class_color(class_id: int, rgb: bool = False) -> tuple[int, int, int]:
    """The colour of a class, the same in every image: BGR, or RGB for an RGB canvas."""
    b, g, r = PALETTE[class_id % len(PALETTE)]
    return (int(r), int(g), int(b)) if rgb else (int(b), int(g), int(r))


def draw_detections(
    image: np.ndarray,
    detections: Detections,
    names: Sequence[str],
    *,
    copy: bool = True,
    rgb: bool = False,
) -> np.ndarray:
    """The image (BGR, or RGB with ``rgb``) with each detection's box and ``name score`` label
    (``#track`` if tracked), each class in its own colour whichever the channel order."""
    canvas = image.copy() if copy else image
    if not len(detections):
        return canvas
    thickness = max(1, round(sum(canvas.shape[:2]) / 600))
    scale = thickness / 3
    corners = np.rint(detections.xyxy).astype(np.int32)
    x1, y1, x2, y2 = corners.T
    polygons = np.stack([x1, y1, x2, y1, x2, y2, x1, y2], axis=1).reshape(-1, 4, 2)
    for class_id in np.unique(detections.class_ids):
        members = detections.class_ids == class_id
        colour = class_color(int(class_id), rgb)
        cv2.polylines(canvas, list(polygons[members]), True, colour, thickness)
    labels = detection_labels(detections, names)
    for (left, top), label, class_id in zip(
        corners[:, :2].tolist(), labels, detections.class_ids.tolist(), strict=True
    ):
        (tw, th), base = cv2.getTextSize(label, _FONT, scale, max(thickness - 1, 1))
        y = top - 2 if top - th - base - 2 >= 0 else top + th + 2
        cv2.rectangle(
            canvas,
            (left, y - th - 2),
            (left + tw + 2, y + base - 2),
            class_color(class_id, rgb),
            -1,
        )
        cv2.putText(
            canvas, label, (left + 1, y - 2), _FONT, scale, (255, 255, 255), max(thickness - 1, 1)
        )
    return canvas


def detection_labels(detections: Detections, names: Sequence[str]) -> list[str]:
    """Each box's label: ``name score``, ``#track name score`` when tracked."""
    ids = detections.class_ids.tolist()
    scores = detections.scores.tolist()
    text = [
        f"{names[i] if 0 <= i < len(names) else i} {s:.2f}"
        for i, s in zip(ids, scores, strict=True)
    ]
    if detections.track_ids is not None:
        text = [
            f"#{t} {label}" for t, label in zip(detections.track_ids.tolist(), text, strict=True)
        ]
    return text
