"""Class-aware NMS against a brute-force greedy reference (torchvision's rule: a box of zero area
overlaps nothing)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from odet_ros.detection.nms import class_aware_nms


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def brute_force(boxes, scores, classes, threshold, max_det, agnostic=False) -> list[int]:
    """Textbook greedy NMS: best first, drop every later box of its class overlapping too much."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    kept: list[int] = []
    for i in order:
        if all(
            (not agnostic and classes[k] != classes[i]) or iou(boxes[k], boxes[i]) <= threshold
            for k in kept
        ):
            kept.append(i)
    return kept[:max_det]


@st.composite
def scenes(draw):
    n = draw(st.integers(0, 40))
    xy = np.array(
        draw(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), min_size=n, max_size=n)),
        np.float32,
    )
    wh = np.array(
        draw(st.lists(st.tuples(st.integers(0, 80), st.integers(0, 80)), min_size=n, max_size=n)),
        np.float32,
    )
    boxes = np.concatenate([xy.reshape(-1, 2), (xy + wh).reshape(-1, 2)], axis=1)
    # distinct scores: the greedy order is then unambiguous
    scores = np.array(draw(st.permutations(range(n))), np.float32) / max(n, 1) * 0.9 + 0.05
    classes = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), np.int64)
    return boxes, scores, classes


@settings(max_examples=150, deadline=None)
@given(
    scene=scenes(),
    threshold=st.sampled_from([0.3, 0.5, 0.7]),
    agnostic=st.booleans(),
    max_det=st.integers(1, 50),
)
def test_matches_the_brute_force_reference(scene, threshold, agnostic, max_det):
    boxes, scores, classes = scene
    # an overlap of exactly the threshold is decided by rounding (297/990 is 0.3 in OpenCV's
    # float arithmetic and 0.30000000000000004 in Python's): no reference answer there
    assume(
        all(abs(iou(a, b) - threshold) > 1e-6 for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    )
    kept = class_aware_nms(
        boxes, scores, classes, iou=threshold, max_det=max_det, agnostic=agnostic
    )
    assert kept.tolist() == brute_force(boxes, scores, classes, threshold, max_det, agnostic)


def test_overlapping_boxes_of_different_classes_both_survive():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    classes = np.array([0, 1, 0])
    assert class_aware_nms(boxes, scores, classes, iou=0.5, max_det=10).tolist() == [0, 1]
    assert class_aware_nms(boxes, scores, classes, iou=0.5, max_det=10, agnostic=True).tolist() == [
        0
    ]


def test_no_boxes_gives_no_indices():
    kept = class_aware_nms(
        np.zeros((0, 4), np.float32),
        np.zeros(0, np.float32),
        np.zeros(0, np.int64),
        iou=0.5,
        max_det=5,
    )
    assert kept.shape == (0,) and kept.dtype == np.int64


def test_boxes_of_zero_area_overlap_nothing():
    """What int8 outputs give for tiny boxes: OpenCV alone would keep one of the three."""
    boxes = np.array(
        [[5, 5, 5, 5], [90, 90, 90, 90], [0, 0, 10, 10], [5, 5, 5, 5], [20, 0, 40, 0]], np.float32
    )
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.6], np.float32)
    kept = class_aware_nms(boxes, scores, np.zeros(5, np.int64), iou=0.5, max_det=10)
    assert kept.tolist() == [0, 1, 2, 3, 4]
    assert class_aware_nms(boxes, scores, np.zeros(5, np.int64), iou=0.5, max_det=2).tolist() == [
        0,
        1,
    ]
