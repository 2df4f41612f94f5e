"""Draw detections on an image: boxes coloured by class, with the class name and score, the
label kept inside the image however near its edge the box is; a segmentation model's masks as
their outlines, in the class colour, inside the (thinner) box.

Used for ``odet detect --annotated`` and the node's ``image_annotated`` topic. Boxes of one class
go in one ``cv2.polylines`` call; labels need one ``putText`` each (OpenCV draws text no other
way), bounded by ``max_det``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from odet_ros.detection.types import Detections

# matplotlib's tab10, then tab20's light shades, BGR: neighbouring class ids get far-apart hues
# (Ultralytics' palette starts red, salmon, orange), and plots draw each class in the same colour.
PALETTE = np.array(
    [
        (180, 119, 31),  # #1f77b4
        (14, 127, 255),  # #ff7f0e
        (44, 160, 44),  # #2ca02c
        (40, 39, 214),  # #d62728
        (189, 103, 148),  # #9467bd
        (75, 86, 140),  # #8c564b
        (194, 119, 227),  # #e377c2
        (127, 127, 127),  # #7f7f7f
        (34, 189, 188),  # #bcbd22
        (207, 190, 23),  # #17becf
        (232, 199, 174),  # #aec7e8
        (120, 187, 255),  # #ffbb78
        (138, 223, 152),  # #98df8a
        (150, 152, 255),  # #ff9896
        (213, 176, 197),  # #c5b0d5
        (148, 156, 196),  # #c49c94
        (210, 182, 247),  # #f7b6d2
        (199, 199, 199),  # #c7c7c7
        (141, 219, 219),  # #dbdb8d
        (229, 218, 158),  # #9edae5
    ],
    np.uint8,
)
DARK_TEXT_ABOVE = 140  # label text is black on colours brighter than this (luma, 0-255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def class_color(class_id: int, rgb: bool = False) -> tuple[int, int, int]:
    """The colour of a class, the same in every image: BGR, or RGB for an RGB canvas."""
    b, g, r = PALETTE[class_id % len(PALETTE)]
    return (int(r), int(g), int(b)) if rgb else (int(b), int(g), int(r))


def text_color(class_id: int) -> tuple[int, int, int]:
    """Black or white, whichever reads better on the class colour (the same in BGR and RGB)."""
    r, g, b = class_color(class_id, rgb=True)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    return (0, 0, 0) if luma > DARK_TEXT_ABOVE else (255, 255, 255)


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
    outlines = _outlines(detections)
    box_thickness = max(1, thickness // 2) if outlines else thickness
    for class_id in np.unique(detections.class_ids):
        members = detections.class_ids == class_id
        colour = class_color(int(class_id), rgb)
        cv2.polylines(canvas, list(polygons[members]), True, colour, box_thickness)
        if outlines:
            parts = [p for i in np.flatnonzero(members) for p in outlines[i]]
            cv2.polylines(canvas, parts, True, colour, thickness, lineType=cv2.LINE_AA)
    labels = detection_labels(detections, names)
    height, width = canvas.shape[:2]
    for (left, top), label, class_id in zip(
        corners[:, :2].tolist(), labels, detections.class_ids.tolist(), strict=True
    ):
        (tw, th), base = cv2.getTextSize(label, _FONT, scale, max(thickness - 1, 1))
        # above the box where there is room, else inside its top; inside the image either way
        y = top - 2 if top - th - base - 2 >= 0 else top + th + 2
        y = min(max(y, th + 2), height - base + 1)
        x = min(max(left, 0), max(width - tw - 2, 0))
        cv2.rectangle(
            canvas, (x, y - th - 2), (x + tw + 2, y + base - 2), class_color(class_id, rgb), -1
        )
        cv2.putText(
            canvas, label, (x + 1, y - 2), _FONT, scale, text_color(class_id), max(thickness - 1, 1)
        )
    return canvas


def _outlines(detections: Detections) -> list[list[np.ndarray]]:
    """Each mask's outline parts as int32 pixel polygons for cv2.polylines (none without masks);
    a mask's outline runs along its pixels' outer edges, drawn through the edge pixels."""
    if detections.masks is None:
        return []
    return [
        [np.rint(part - 0.5).astype(np.int32) for part in detections.masks.outline(i)]
        for i in range(len(detections))
    ]


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
