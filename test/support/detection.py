"""Detections compared box by box (the parity and metadata tests hold our backends to
Ultralytics' predictions)."""

from __future__ import annotations

import numpy as np

from odet_ros.detection import Detections


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def assert_matches(ours: Detections, reference: Detections, where: str) -> None:
    assert len(ours) == len(reference), f"{where}: {len(ours)} boxes, Ultralytics {len(reference)}"
    if not len(ours):
        return
    iou = iou_matrix(reference.xyxy, ours.xyxy)
    iou[reference.class_ids[:, None] != ours.class_ids[None, :]] = -1  # match within a class
    free = np.ones(len(ours), bool)
    for i in np.argsort(-reference.scores):
        j = int(np.argmax(np.where(free, iou[i], -1)))
        assert free[j] and iou[i, j] >= 0.9, (
            f"{where}: no match for {reference.xyxy[i]} (IoU {iou[i, j]:.3f})"
        )
        assert abs(ours.scores[j] - reference.scores[i]) <= 0.02, (
            f"{where}: score {ours.scores[j]} vs {reference.scores[i]}"
        )
        free[j] = False


def assert_same(
    ours: Detections, reference: Detections, where: str, px: float, score: float
) -> None:
    """Box for box: same count, and each reference box matched by one of ours of the same class
    with every corner coordinate within ``px`` pixels and the score within ``score``."""
    assert len(ours) == len(reference), f"{where}: {len(ours)} boxes, the tool {len(reference)}"
    free = np.ones(len(ours), bool)
    for i in np.argsort(-reference.scores):
        offset = np.abs(ours.xyxy - reference.xyxy[i]).max(axis=1)
        offset[(ours.class_ids != reference.class_ids[i]) | ~free] = np.inf
        j = int(np.argmin(offset)) if len(ours) else 0
        assert len(ours) and offset[j] <= px, (
            f"{where}: no box of class {reference.class_ids[i]} within {px} px of"
            f" {reference.xyxy[i]} (nearest {offset[j] if len(ours) else None})"
        )
        assert abs(ours.scores[j] - reference.scores[i]) <= score, (
            f"{where}: score {ours.scores[j]} vs {reference.scores[i]}"
        )
        free[j] = False
