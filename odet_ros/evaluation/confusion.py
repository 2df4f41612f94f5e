"""The detection confusion matrix, counted as Ultralytics' ``ConfusionMatrix.process_batch``.

Predictions scoring above ``conf`` are matched to boxes of any class, best score first, each
claiming the unclaimed box it overlaps most when the IoU exceeds ``iou`` (0.45). A match counts at
[predicted class, true class]; an unmatched prediction at [class, background] (a false
positive), an unmatched box at [background, class] (a miss). Rows are predictions, columns truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from odet_ros.evaluation.matching import (
    FlatBoxes,
    IouFunction,
    MatchRule,
    match_in_groups,
    yolo_iou,
)

IOU = 0.45


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts indexed [predicted, true]; index ``nc`` (the last) is the background."""

    matrix: NDArray[np.int64]  # (nc + 1, nc + 1)
    conf: float
    iou: float


def confusion_matrix(
    preds: FlatBoxes,
    truths: FlatBoxes,
    num_classes: int,
    conf: float,
    iou: float = IOU,
    *,
    overlap: IouFunction = yolo_iou,
) -> ConfusionMatrix:
    """Count matches, false positives and misses over all images (``overlap``: mask IoU for
    masks)."""
    kept = preds.scores > conf
    confident = FlatBoxes(
        preds.xyxy[kept], preds.class_ids[kept], preds.image[kept], preds.scores[kept]
    )
    rule = MatchRule(np.array([iou], np.float32), overlap, strict=True)
    _, claims = match_in_groups(confident, truths, confident.image, truths.image, rule)
    claims = claims[:, 0]
    background = num_classes
    matched = claims >= 0
    true_class = np.full(len(claims), background)
    true_class[matched] = truths.class_ids[claims[matched]]
    missed = np.ones(len(truths), bool)
    missed[claims[matched]] = False
    rows = np.concatenate([confident.class_ids, np.full(missed.sum(), background)])
    cols = np.concatenate([true_class, truths.class_ids[missed]])
    size = num_classes + 1
    counts = np.bincount(rows * size + cols, minlength=size * size).reshape(size, size)
    return ConfusionMatrix(counts.astype(np.int64), conf, iou)
