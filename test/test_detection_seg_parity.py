"""Segmentation models through every backend against Ultralytics' own predict on the same file
(test/support/seg_models.py): the boxes as for detectors (same count, same class, IoU >= 0.9,
score within 0.02) and each instance's mask, at the image's pixels (Ultralytics'
``retina_masks``), with IoU >= 0.95."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from support.detection import assert_matches, iou_matrix
from support.seg_models import REFERENCE_CONF, REFERENCE_IOU

from odet_ros.detection import load_detector

pytestmark = pytest.mark.slow  # the tiny segmentation model (trained on first use)

MODELS = ["seg.pt", "seg.onnx", "seg.tflite", "seg_int8.tflite"]
MASK_IOU = 0.95


@pytest.mark.parametrize("name", MODELS)
def test_masks_match_ultralytics_predict(tiny_seg_models, name):
    if name.endswith(".pt"):
        pytest.importorskip("ultralytics")
    detector = load_detector(tiny_seg_models.model(name), conf=REFERENCE_CONF, iou=REFERENCE_IOU)
    assert detector.segments
    reference = tiny_seg_models.reference(name)
    compared, worst = 0, 1.0
    for path in tiny_seg_models.images:
        image = cv2.imread(str(path))
        ours, theirs = detector.detect(image), reference[path.name]
        assert_matches(ours, theirs.detections, f"{name} on {path.name}")
        assert ours.masks is not None and ours.masks.image_hw == image.shape[:2]
        pairs = iou_matrix(theirs.detections.xyxy, ours.xyxy)
        for i, j in enumerate(pairs.argmax(axis=1) if len(ours) else []):
            mask, expected = ours.masks.full(int(j)), theirs.masks[i]
            iou = (mask & expected).sum() / (mask | expected).sum()
            assert iou >= MASK_IOU, f"{name} on {path.name}: mask IoU {iou:.3f}"
            worst = min(worst, iou)
            compared += 1
    assert compared >= len(tiny_seg_models.images)  # the comparison is not vacuous
    print(f"{name}: {compared} masks, worst IoU {worst:.4f}")


def test_masks_off_gives_the_boxes_alone(tiny_seg_models):
    detector = load_detector(tiny_seg_models.model("seg.onnx"), conf=REFERENCE_CONF)
    image = cv2.imread(str(tiny_seg_models.images[-1]))
    with_masks = detector.detect(image)
    detector.settings = detector.settings.__class__(**{**vars(detector.settings), "masks": False})
    boxes_only = detector.detect(image)
    assert boxes_only.masks is None and len(with_masks) >= 1
    np.testing.assert_allclose(boxes_only.xyxy, with_masks.xyxy, atol=1e-4)
