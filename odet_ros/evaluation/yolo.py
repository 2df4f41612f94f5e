"""Ultralytics mode: the numbers ``yolo val`` prints, from our own numpy (no Ultralytics needed).

Mirrors Ultralytics 8.4: ``DetectionValidator.match_predictions`` (greedy by falling score, IoU
computed in float32 as ``box_iou``, the first of equal overlaps wins) and ``ap_per_class`` /
``compute_ap`` (the precision envelope interpolated at 101 recall points and integrated with the
trapezoid rule). Matching per image and class equals Ultralytics' per-image matching with the
other classes' overlaps zeroed. Predictions are all scored: the detector's ``max_det`` (300) is
the only cap.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from odet_ros.evaluation.curves import CONFIDENCE_GRID, EPS
from odet_ros.evaluation.matching import (
    FlatBoxes,
    IouFunction,
    Matched,
    MatchRule,
    match_by_image_and_class,
    yolo_iou,
)

IOU_THRESHOLDS: NDArray[np.floating] = np.linspace(0.5, 0.95, 10).astype(
    np.float32
)  # torch.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0, 1, 101)
RULE = MatchRule(IOU_THRESHOLDS, yolo_iou)


def match(
    preds: FlatBoxes, truths: FlatBoxes, num_classes: int, overlap: IouFunction | None = None
) -> Matched:
    """``match_predictions`` for every image at once; ``overlap`` replaces the box IoU."""
    rule = RULE if overlap is None else replace(RULE, iou=overlap)
    return match_by_image_and_class(preds, truths, num_classes, rule)


def average_precision(
    matched: Matched, gt_counts: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``ap_per_class``'s AP per class and IoU threshold (nc, T), NaN for classes without ground
    truth, and the precision envelope at IoU 0.5 read at CONFIDENCE_GRID's recalls (nc, 1000)."""
    num_classes, levels = len(gt_counts), len(IOU_THRESHOLDS)
    ap = np.full((num_classes, levels), np.nan)
    precision50 = np.full((num_classes, len(CONFIDENCE_GRID)), np.nan)
    ap[gt_counts > 0] = 0.0
    precision50[gt_counts > 0] = 0.0
    ranked = np.argsort(-matched.scores)
    class_ids, correct = matched.class_ids[ranked], matched.correct[ranked]
    for k in np.flatnonzero(gt_counts):
        hits = correct[class_ids == k]
        if not len(hits):
            continue
        tp = hits.cumsum(0)
        fp = (~hits).cumsum(0)
        recall = tp / (gt_counts[k] + EPS)
        precision = tp / (tp + fp)
        for level in range(levels):
            ap[k, level], envelope, padded_recall = compute_ap(
                recall[:, level], precision[:, level]
            )
            if level == 0:
                precision50[k] = np.interp(CONFIDENCE_GRID, padded_recall, envelope)
    return ap, precision50


def compute_ap(
    recall: NDArray[np.float64], precision: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """AP of one PR curve, with the envelope and the recall padded with sentinels."""
    padded_recall = np.concatenate(([0.0], recall, [recall[-1] if len(recall) else 1.0], [1.0]))
    envelope = np.concatenate(([1.0], precision, [0.0], [0.0]))
    envelope = np.flip(np.maximum.accumulate(np.flip(envelope)))
    sampled = np.interp(RECALL_POINTS, padded_recall, envelope)
    area = float(np.sum(np.diff(RECALL_POINTS) * (sampled[1:] + sampled[:-1]) / 2))
    return area, envelope, padded_recall
