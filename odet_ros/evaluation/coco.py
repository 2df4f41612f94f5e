"""COCO mode: the bounding-box protocol of pycocotools' COCOeval, area range "all", maxDets 100.

Within each image and class the 100 best-scored predictions are matched greedily to the boxes
(IoU with no +1 on widths, equal overlaps going to the later box, as COCOeval's loop does). Per
class, predictions of all images are ranked by score (ties in image order), the precision
envelope is sampled at 101 recall points by step lookup (not interpolated) and averaged; mAP is
the mean over the classes that have ground truth. Nothing here is crowd-aware: labels have none.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from odet_ros.evaluation.matching import (
    FlatBoxes,
    IouFunction,
    Matched,
    MatchRule,
    coco_iou,
    match_by_image_and_class,
)

# The same expressions as pycocotools' Params, so thresholds compare bit for bit.
IOU_THRESHOLDS: NDArray[np.floating] = np.linspace(
    0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True
)
RECALL_GRID = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = 100
RULE = MatchRule(np.minimum(IOU_THRESHOLDS, 1 - 1e-10), coco_iou, prefer_last=True)


def match(
    preds: FlatBoxes, truths: FlatBoxes, num_classes: int, overlap: IouFunction | None = None
) -> Matched:
    """COCOeval's ``evaluateImg`` for every image and class at once; ``overlap`` replaces the
    box IoU (mask IoU for ``iouType="segm"``)."""
    rule = RULE if overlap is None else replace(RULE, iou=overlap)
    return match_by_image_and_class(preds, truths, num_classes, rule, max_per_group=MAX_DETS)


def average_precision(
    matched: Matched, gt_counts: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """COCOeval's ``accumulate``: AP per class and IoU threshold (nc, T), NaN for classes without
    ground truth, and the precision at each point of RECALL_GRID at IoU 0.5 (nc, 101)."""
    num_classes, levels = len(gt_counts), len(IOU_THRESHOLDS)
    ap = np.full((num_classes, levels), np.nan)
    precision50 = np.full((num_classes, len(RECALL_GRID)), np.nan)
    ranked = np.argsort(-matched.scores.astype(np.float64), kind="stable")
    class_ids, correct = matched.class_ids[ranked], matched.correct[ranked]
    for k in np.flatnonzero(gt_counts):
        precision = _precision_at_recall_grid(correct[class_ids == k].T, int(gt_counts[k]))
        ap[k] = precision.mean(axis=1)
        precision50[k] = precision[0]
    return ap, precision50


def _precision_at_recall_grid(hits: NDArray[np.bool_], positives: int) -> NDArray[np.float64]:
    """(T, 101) precision envelope sampled at RECALL_GRID, from (T, n) hits in score order."""
    tp = np.cumsum(hits, axis=1, dtype=np.float64)
    fp = np.cumsum(~hits, axis=1, dtype=np.float64)
    recall = tp / positives
    precision = tp / (fp + tp + np.spacing(1))
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    sampled = np.zeros((len(hits), len(RECALL_GRID)))
    for level in range(len(hits)):
        at = np.searchsorted(recall[level], RECALL_GRID, side="left")
        reached = at < hits.shape[1]
        sampled[level, reached] = envelope[level, at[reached]]
    return sampled
