"""Int8 quantisation of the tiny model's LiteRT export (odet_ros.training.quantize): the box
decoding stays float while the convolutions go int8, and the ranges do not depend on the order
of the calibration images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("ai_edge_quantizer")

from ai_edge_litert.interpreter import Interpreter

from odet_ros.detection.letterbox import Letterboxer
from odet_ros.training.errors import ExportError
from odet_ros.training.quantize import decoding_scopes, quantize_int8

pytestmark = pytest.mark.slow  # quantises the tiny models (trained on first use)

IMGSZ = 160  # the tiny model's input size
CALIBRATION_IMAGES = 8


@pytest.fixture(scope="module")
def samples(tiny_models):
    letterbox = Letterboxer((IMGSZ, IMGSZ), layout="nchw", dtype=np.float32)
    train = sorted((tiny_models.data_yaml.parent / "train" / "images").glob("*.png"))
    return [letterbox(cv2.imread(str(p)))[0].copy() for p in train[:CALIBRATION_IMAGES]]


@pytest.fixture(scope="module")
def quantized(tiny_models, samples, tmp_path_factory):
    """The tiny model quantised on the first train images: (float model, int8 model)."""
    float_model = tiny_models.model("tiny.tflite")
    int8_model = tmp_path_factory.mktemp("int8") / "tiny_int8.tflite"
    quantize_int8(float_model, int8_model, samples)
    return float_model, int8_model


def tensor_types(model):
    return {t["name"]: np.dtype(t["dtype"]) for t in Interpreter(str(model)).get_tensor_details()}


def run(model, sample):
    interpreter = Interpreter(str(model))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], sample)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]


def test_box_decoding_stays_float_and_the_head_convolutions_go_int8(quantized):
    float_model, int8_model = quantized
    scopes = decoding_scopes(float_model)
    assert any("DFL" in scope for scope in scopes)  # the distribution softmax and its sum
    types = tensor_types(int8_model)
    decoded = {name for scope in scopes for name in scope.split(";") if name in types}
    assert decoded and {types[name] for name in decoded} == {np.dtype(np.float32)}
    head_int8 = [n for n, t in types.items() if "Detect" in n and "Conv2d" in n and t == np.int8]
    assert head_int8  # the per-level branches are convolutions: int8 is where the speed is


def test_boxes_are_not_rounded_to_int8_steps(quantized, samples):
    float_model, int8_model = quantized
    output, expected = run(int8_model, samples[0]), run(float_model, samples[0])
    boxes = output[:4]  # normalised cx, cy, w, h of every anchor
    assert np.unique(boxes).size > 256  # an int8 tensor holds at most 256 values
    # The anchors the float model is surest of: the boxes a detector keeps, however well the
    # tiny model happened to train.
    kept = np.argsort(expected[4:].max(axis=0))[-20:]
    error = np.abs(boxes[:, kept] - expected[:4, kept]) * IMGSZ  # pixels
    assert np.median(error) < 0.3  # int8 decoding: 0.5 to 0.9 px on these images


def test_ranges_do_not_depend_on_the_order_of_the_images(quantized, samples, tmp_path):
    float_model, int8_model = quantized
    reversed_order = tmp_path / "reversed.tflite"
    quantize_int8(float_model, reversed_order, samples[::-1])
    params = [
        {t["name"]: t["quantization"] for t in Interpreter(str(m)).get_tensor_details()}
        for m in (int8_model, reversed_order)
    ]
    assert params[0] == params[1]


def test_no_calibration_image_is_an_error(tiny_models, tmp_path):
    destination = tmp_path / "int8.tflite"
    with pytest.raises(ExportError, match="no image could be read"):
        quantize_int8(tiny_models.model("tiny.tflite"), destination, [])
    assert not destination.exists()
