"""Greedy matching of predictions to ground truth, for every image and class at once.

COCOeval, Ultralytics' validator and Ultralytics' confusion matrix all match the same way: in
order of falling score, each prediction claims the unclaimed ground-truth box it overlaps most, if
that overlap reaches the IoU threshold. A prediction's claim depends on the better-scored ones
before it, so the walk is sequential within a group (an image, or an image and class); here it
runs over *ranks* instead of boxes: step ``d`` settles the ``d``-th prediction of every group and
every IoU threshold in one numpy operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from odet_ros.detection.types import Detections

IouFunction = Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.floating]]
CHUNK_ELEMENTS = 4_000_000  # IoU entries held at once (about 32 MB of float64)


@dataclass(frozen=True)
class FlatBoxes:
    """The boxes of all images in parallel arrays; ``image`` is each box's image index."""

    xyxy: NDArray[np.float64]  # (N, 4) pixels
    class_ids: NDArray[np.int64]  # (N,)
    image: NDArray[np.int64]  # (N,)
    scores: NDArray[np.float32]  # (N,) ones for ground truth

    def __len__(self) -> int:
        return len(self.class_ids)


def flatten_predictions(predictions: Sequence[Detections]) -> FlatBoxes:
    """All images' detections, image by image, each image's boxes in their given order."""
    return _flatten(
        [p.xyxy for p in predictions],
        [p.class_ids for p in predictions],
        [p.scores for p in predictions],
    )


def flatten_ground_truth(truths: Sequence[tuple[Any, ...]]) -> FlatBoxes:
    """All images' labelled boxes, image by image: GroundTruth or (xyxy, class_ids) pairs."""
    boxes = [np.asarray(t[0], np.float64).reshape(-1, 4) for t in truths]
    classes = [np.asarray(t[1], np.int64).reshape(-1) for t in truths]
    for index, (xyxy, ids) in enumerate(zip(boxes, classes, strict=True)):
        if len(xyxy) != len(ids):
            raise ValueError(f"ground truth of image {index}: {len(xyxy)} boxes, {len(ids)} ids")
    return _flatten(boxes, classes, [np.ones(len(c), np.float32) for c in classes])


def _flatten(
    boxes: Sequence[NDArray[np.floating]],
    classes: Sequence[NDArray[np.integer]],
    scores: Sequence[NDArray[np.floating]],
) -> FlatBoxes:
    counts = np.array([len(c) for c in classes], np.int64)
    if not counts.sum():
        return FlatBoxes(
            np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        )
    return FlatBoxes(
        xyxy=np.concatenate(boxes).astype(np.float64).reshape(-1, 4),
        class_ids=np.concatenate(classes).astype(np.int64),
        image=np.repeat(np.arange(len(counts)), counts),
        scores=np.concatenate(scores).astype(np.float32),
    )


def coco_iou(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pairwise IoU ``(..., D, 4) x (..., M, 4) -> (..., D, M)`` in float64, widths without +1,
    0 where boxes do not overlap: pycocotools' ``bbIou``."""
    a, b = a[..., :, None, :], b[..., None, :, :]
    w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    overlap = (w > 0) & (h > 0)
    inter = np.where(overlap, w * h, 0.0)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = np.where(overlap, area_a + area_b - inter, 1.0)
    return inter / union


def yolo_iou(
    a: NDArray[np.float64], b: NDArray[np.float64], eps: float = 1e-7
) -> NDArray[np.float32]:
    """Pairwise IoU as Ultralytics' ``box_iou``: float32, overlap clamped at 0, ``eps`` added."""
    a32, b32 = a.astype(np.float32)[..., :, None, :], b.astype(np.float32)[..., None, :, :]
    wh = np.clip(
        np.minimum(a32[..., 2:], b32[..., 2:]) - np.maximum(a32[..., :2], b32[..., :2]), 0, None
    )
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a32[..., 2] - a32[..., 0]) * (a32[..., 3] - a32[..., 1])
    area_b = (b32[..., 2] - b32[..., 0]) * (b32[..., 3] - b32[..., 1])
    iou: NDArray[np.float32] = inter / (area_a + area_b - inter + np.float32(eps))
    return iou


def group_order(groups: NDArray[np.int64], scores: NDArray[np.float32]) -> NDArray[np.intp]:
    """Indices sorting boxes by group, then by falling score, ties kept in their given order."""
    return np.lexsort((-scores.astype(np.float64), groups))


@dataclass(frozen=True)
class MatchRule:
    """How a protocol matches: a claim needs IoU ``>= threshold`` (``>`` when ``strict``);
    between equal overlaps the first box wins, or the last with ``prefer_last`` (COCOeval's loop
    keeps the last)."""

    thresholds: NDArray[np.floating]  # (T,) IoU thresholds, each matched independently
    iou: IouFunction
    strict: bool = False
    prefer_last: bool = False


def greedy_match(
    pred_xyxy: NDArray[np.float64],
    pred_groups: NDArray[np.int64],
    gt_xyxy: NDArray[np.float64],
    gt_groups: NDArray[np.int64],
    rule: MatchRule,
) -> NDArray[np.int64]:
    """The ground-truth index each prediction claims at each threshold, -1 for none: (N, T).

    Predictions must come sorted by group and, within a group, in the order they claim (falling
    score); ground truth sorted by group.
    """
    levels = len(rule.thresholds)
    claims = np.full((len(pred_groups), levels), -1, np.int64)
    pred_ids, pred_start, pred_count = np.unique(pred_groups, return_index=True, return_counts=True)
    gt_ids, gt_start, gt_count = np.unique(gt_groups, return_index=True, return_counts=True)
    _, in_pred, in_gt = np.intersect1d(pred_ids, gt_ids, assume_unique=True, return_indices=True)
    if not len(in_pred):
        return claims
    busiest = np.argsort(-pred_count[in_pred], kind="stable")
    groups = _Groups(
        pred_start[in_pred][busiest],
        pred_count[in_pred][busiest],
        gt_start[in_gt][busiest],
        gt_count[in_gt][busiest],
    )
    for chunk in groups.chunks(levels):
        _match_chunk(chunk, pred_xyxy, gt_xyxy, rule, claims)
    return claims


@dataclass(frozen=True)
class _Groups:
    """Groups holding both predictions and ground truth, busiest first (by prediction count)."""

    pred_start: NDArray[np.intp]
    pred_count: NDArray[np.intp]
    gt_start: NDArray[np.intp]
    gt_count: NDArray[np.intp]

    def __getitem__(self, index: slice) -> _Groups:
        return _Groups(
            self.pred_start[index],
            self.pred_count[index],
            self.gt_start[index],
            self.gt_count[index],
        )

    def chunks(self, thresholds: int) -> Iterator[_Groups]:
        """Consecutive runs of groups whose padded IoU block stays within CHUNK_ELEMENTS."""
        start, total = 0, len(self.pred_count)
        while start < total:
            widest_gt = np.maximum.accumulate(self.gt_count[start:])
            depth = max(int(self.pred_count[start]), thresholds)
            size = np.arange(1, total - start + 1) * depth * widest_gt
            fits = int(np.searchsorted(size, CHUNK_ELEMENTS, side="right"))
            stop = start + max(fits, 1)
            yield self[start:stop]
            start = stop


def _match_chunk(
    groups: _Groups,
    pred_xyxy: NDArray[np.float64],
    gt_xyxy: NDArray[np.float64],
    rule: MatchRule,
    out: NDArray[np.int64],
) -> None:
    depth, width = int(groups.pred_count[0]), int(groups.gt_count.max())
    pred_index, _ = _padded(groups.pred_start, groups.pred_count, depth)
    gt_index, gt_valid = _padded(groups.gt_start, groups.gt_count, width)
    overlaps = rule.iou(pred_xyxy[pred_index], gt_xyxy[gt_index])  # (G, depth, width)
    overlaps = np.where(gt_valid[:, None, :], overlaps, -1.0)
    thresholds = rule.thresholds
    claimed = np.zeros((len(groups.pred_count), width, len(thresholds)), bool)
    # groups come busiest first, so the groups still holding a d-th prediction are a prefix
    active = np.searchsorted(-groups.pred_count, -np.arange(depth), side="left")
    levels = np.arange(len(thresholds))
    for d in range(depth):
        n = int(active[d])
        free = np.where(claimed[:n], -1.0, overlaps[:n, d, :, None])  # (n, width, T)
        best = _best(free, rule.prefer_last)  # (n, T)
        value = np.take_along_axis(free, best[:, None, :], axis=1)[:, 0, :]
        hit = value > thresholds if rule.strict else value >= thresholds
        rows = np.arange(n)[:, None]
        claimed[rows, best, levels] |= hit
        out[pred_index[:n, d]] = np.where(hit, gt_index[rows, best], -1)


def _best(free: NDArray[np.float64], prefer_last: bool) -> NDArray[np.intp]:
    """Index of the largest overlap along axis 1, the first or the last of equal ones."""
    if prefer_last:
        last: NDArray[np.intp] = free.shape[1] - 1 - free[:, ::-1, :].argmax(axis=1)
        return last
    first: NDArray[np.intp] = free.argmax(axis=1)
    return first


def _padded(
    start: NDArray[np.intp], count: NDArray[np.intp], width: int
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Per group, the indices of its boxes padded to ``width`` (padding repeats the first)."""
    offsets = np.arange(width)
    valid = offsets < count[:, None]
    return np.where(valid, start[:, None] + offsets, start[:, None]), valid


@dataclass(frozen=True)
class Matched:
    """The predictions a protocol scores, in their given order, and which are true positives."""

    scores: NDArray[np.float32]  # (K,)
    class_ids: NDArray[np.int64]  # (K,)
    correct: NDArray[np.bool_]  # (K, T) a true positive at each IoU threshold


def match_by_image_and_class(
    preds: FlatBoxes,
    truths: FlatBoxes,
    num_classes: int,
    rule: MatchRule,
    *,
    max_per_group: int | None = None,
) -> Matched:
    """Match within each (image, class), keeping each group's ``max_per_group`` best predictions
    (all without a limit)."""
    kept, claims = match_in_groups(
        preds,
        truths,
        preds.image * num_classes + preds.class_ids,
        truths.image * num_classes + truths.class_ids,
        rule,
        max_per_group=max_per_group,
    )
    return Matched(preds.scores[kept], preds.class_ids[kept], claims >= 0)


def match_in_groups(
    preds: FlatBoxes,
    truths: FlatBoxes,
    pred_groups: NDArray[np.int64],
    gt_groups: NDArray[np.int64],
    rule: MatchRule,
    *,
    max_per_group: int | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """Match predictions to the ground truth of their group (an image, or an image and class).

    Returns the indices of the predictions kept (a group's ``max_per_group`` best; all without a
    limit) in their given order, and for each the index into ``truths`` it claims at each
    threshold, or -1: (K, T).
    """
    order = group_order(pred_groups, preds.scores)
    if max_per_group is not None:
        order = order[_rank_in_group(pred_groups[order]) < max_per_group]
    gt_order = np.argsort(gt_groups, kind="stable")
    claims = greedy_match(
        preds.xyxy[order], pred_groups[order], truths.xyxy[gt_order], gt_groups[gt_order], rule
    )
    if len(gt_order):
        claims = np.where(claims >= 0, gt_order[np.maximum(claims, 0)], -1)
    given = np.argsort(order)  # back to the predictions' given order
    return order[given], claims[given]


def _rank_in_group(sorted_groups: NDArray[np.int64]) -> NDArray[np.intp]:
    """0, 1, 2... within each run of equal values."""
    index = np.arange(len(sorted_groups))
    starts = np.r_[True, sorted_groups[1:] != sorted_groups[:-1]] if len(index) else index > 0
    return index - np.maximum.accumulate(np.where(starts, index, 0))
