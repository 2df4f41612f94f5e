"""Our backends against Ultralytics' own predict, on the same files and images
(test/support/models.py).

Same count, and each Ultralytics box matched by one of ours of the same class with IoU >= 0.9 and
a score within 0.02. The images include landscape, portrait and odd sizes, so the letterbox and
its inverse are checked for every aspect ratio. A ``.pt`` is letterboxed to a stride-aligned
rectangle and a static export to a square, so each is compared with predict on the same file. A
dynamic ONNX runs on the same rectangle as the ``.pt`` it was exported from, so it is held to the
``.pt``'s predictions.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from support.detection import assert_matches, iou_matrix
from support.models import INTEGER_IO, REFERENCE_CONF, REFERENCE_IOU, reference_conf

from odet_ros.detection import load_detector

pytestmark = pytest.mark.slow  # every test runs the tiny models (trained on first use)

MODELS = [
    "tiny.pt",
    "tiny.onnx",
    "tiny_nms.onnx",
    "tiny_dynamic.onnx",
    "tiny.tflite",
    "tiny_int8.tflite",
    "yolo26_e2e.onnx",
    "yolo26_e2e.tflite",
]

REFERENCE_MODEL = {"tiny_dynamic.onnx": "tiny.pt"}


@pytest.mark.parametrize("name", MODELS)
def test_backend_matches_ultralytics_predict(tiny_models, name):
    if name.endswith(".pt"):
        pytest.importorskip("ultralytics")
    detector = load_detector(tiny_models.model(name), conf=reference_conf(name), iou=REFERENCE_IOU)
    reference = tiny_models.reference(REFERENCE_MODEL.get(name, name))
    found = 0
    for path in tiny_models.images:
        ours = detector.detect(cv2.imread(str(path)))
        assert_matches(ours, reference[path.name], f"{name} on {path.name}")
        found += len(ours)
    assert found >= len(tiny_models.images)  # the comparison is not vacuous
    assert {
        cv2.imread(str(p)).shape[0] > cv2.imread(str(p)).shape[1] for p in tiny_models.images
    } == {True, False}


def test_rgb_input_gives_the_same_boxes_as_bgr(tiny_models):
    detector = load_detector(tiny_models.model("tiny.onnx"), conf=REFERENCE_CONF)
    image = cv2.imread(str(tiny_models.images[0]))
    bgr = detector.detect(image)
    rgb = detector.detect(np.ascontiguousarray(image[..., ::-1]), color="rgb8")
    bgra = detector.detect(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA), color="bgra8")
    for other in (rgb, bgra):
        np.testing.assert_array_equal(other.class_ids, bgr.class_ids)
        np.testing.assert_allclose(other.xyxy, bgr.xyxy, atol=1e-3)


def test_integer_input_and_output_are_quantized_and_dequantized(tiny_models):
    """A model with int8 input and output finds the float model's clear boxes (score >= 0.3)
    with the same class and IoU >= 0.7; ignoring scale or zero point would find nothing alike."""
    integer = load_detector(tiny_models.model(INTEGER_IO), conf=0.1)
    floating = load_detector(tiny_models.model("tiny.tflite"), conf=0.1)
    assert integer.backend_name == "litert"
    checked = 0
    for path in tiny_models.images:
        image = cv2.imread(str(path))
        ours, reference = integer.detect(image), floating.detect(image)
        assert ((ours.scores > 0) & (ours.scores <= 1)).all()
        clear = reference.select(reference.scores >= 0.3)
        iou = iou_matrix(clear.xyxy, ours.xyxy)
        same_class = clear.class_ids[:, None] == ours.class_ids[None, :]
        assert (np.where(same_class, iou, 0).max(axis=1, initial=0) >= 0.7).all(), path.name
        checked += len(clear)
    assert checked >= 3


def test_network_input_is_the_rectangle_for_a_dynamic_model_and_fixed_otherwise(tiny_models):
    dynamic = load_detector(tiny_models.model("tiny_dynamic.onnx"))
    static = load_detector(tiny_models.model("tiny.onnx"))
    assert dynamic.network_input((480, 640)) == (128, 160)  # 120x160 padded to the stride
    assert dynamic.network_input((640, 480)) == (160, 128)
    assert static.network_input((480, 640)) == (160, 160)
