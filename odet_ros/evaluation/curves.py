"""Precision, recall and F1 against the confidence threshold, and the operating points on them.

The curves follow Ultralytics' ``ap_per_class``: per class, running precision and recall of the
predictions ranked by score, read at 1000 confidences from 0 to 1. Its "best" point is the
confidence where the smoothed mean F1 over classes peaks, which is what ``yolo val`` reports as
P and R. A robot runs at a fixed threshold instead, so :func:`at_threshold` counts exactly what a
detector keeping scores above ``conf`` would get right.

One convention for a class with ground truth and no detection above a confidence, on the curves
and at the threshold alike: precision 0 (with recall and F1 0). Ultralytics' curves read 1 there
(``np.interp(..., left=1)``), so ``yolo val`` prints P = 1 at R = 0 for a class it never detects
above its best-F1 confidence; only that case differs from its P.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

CONFIDENCE_GRID = np.linspace(0, 1, 1000)
EPS = 1e-16  # Ultralytics' eps in ap_per_class


@dataclass(frozen=True)
class ConfidenceCurves:
    """Per class (rows; NaN for classes without ground truth) over CONFIDENCE_GRID."""

    precision: NDArray[np.float64]  # (nc, 1000)
    recall: NDArray[np.float64]
    f1: NDArray[np.float64]

    def best_index(self) -> int:
        """Where the mean F1 of the classes with ground truth, smoothed, peaks (0 if none)."""
        rows = ~np.isnan(self.f1[:, 0])
        if not rows.any():
            return 0
        return int(smooth(self.f1[rows].mean(0), 0.1).argmax())


@dataclass(frozen=True)
class OperatingPoint:
    """Per-class precision, recall and F1 at one confidence (NaN where undefined)."""

    conf: float
    precision: NDArray[np.float64]  # (nc,)
    recall: NDArray[np.float64]
    f1: NDArray[np.float64]
    predictions: NDArray[np.int64] | None = None  # (nc,) predictions above conf, counted exactly


def confidence_curves(
    scores: NDArray[np.float32],
    class_ids: NDArray[np.int64],
    hits: NDArray[np.bool_],
    gt_counts: NDArray[np.int64],
) -> ConfidenceCurves:
    """The curves from each prediction's score, class and hit (true positive at IoU 0.5)."""
    num_classes = len(gt_counts)
    shape = (num_classes, len(CONFIDENCE_GRID))
    precision, recall = np.full(shape, np.nan), np.full(shape, np.nan)
    precision[gt_counts > 0] = 0.0
    recall[gt_counts > 0] = 0.0
    ranked = np.argsort(-scores)
    scores, class_ids, hits = scores[ranked], class_ids[ranked], hits[ranked]
    for k in np.flatnonzero(gt_counts):
        mine = class_ids == k
        if not mine.any():
            continue
        tp = np.cumsum(hits[mine])
        fp = np.cumsum(~hits[mine])
        conf = -scores[mine]  # ascending, as np.interp needs
        recall[k] = np.interp(-CONFIDENCE_GRID, conf, tp / (gt_counts[k] + EPS), left=0)
        precision[k] = np.interp(-CONFIDENCE_GRID, conf, tp / (tp + fp), left=0)
    f1 = 2 * precision * recall / (precision + recall + EPS)
    return ConfidenceCurves(precision, recall, f1)


def at_grid_point(curves: ConfidenceCurves, index: int) -> OperatingPoint:
    """The curves read at CONFIDENCE_GRID[index]."""
    return OperatingPoint(
        float(CONFIDENCE_GRID[index]),
        curves.precision[:, index],
        curves.recall[:, index],
        curves.f1[:, index],
    )


def at_threshold(
    scores: NDArray[np.float32],
    class_ids: NDArray[np.int64],
    hits: NDArray[np.bool_],
    gt_counts: NDArray[np.int64],
    conf: float,
) -> OperatingPoint:
    """Exact precision, recall and F1 of the predictions scoring above ``conf``.

    Matching goes best score first, so the matches of the predictions above ``conf`` are the
    ones they would get alone. A class with ground truth and no predictions has precision 0 (the
    module's convention); one without ground truth has NaN recall and F1.
    """
    num_classes = len(gt_counts)
    kept = scores > conf
    predicted = np.bincount(class_ids[kept], minlength=num_classes)
    correct = np.bincount(class_ids[kept & hits], minlength=num_classes).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, correct / predicted, 0.0)
        recall = np.where(gt_counts > 0, correct / gt_counts, np.nan)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    precision = np.where((gt_counts > 0) | (predicted > 0), precision, np.nan)
    f1 = np.where(gt_counts > 0, f1, np.nan)
    return OperatingPoint(conf, precision, recall, f1, predicted)


def smooth(y: NDArray[np.float64], fraction: float = 0.05) -> NDArray[np.float64]:
    """Box filter ``fraction`` of the length wide, edges padded (Ultralytics' ``smooth``)."""
    width = round(len(y) * fraction * 2) // 2 + 1  # odd
    pad = np.ones(width // 2)
    padded = np.concatenate((pad * y[0], y, pad * y[-1]), 0)
    return np.convolve(padded, np.ones(width) / width, mode="valid")
