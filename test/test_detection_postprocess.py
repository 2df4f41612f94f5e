"""Four-output detectors: which output is which (the op that makes them, else names), and the
packing into NMS rows the decoder reads; the YOLOv5 head decoded and recognised by its shape;
the stretch resize and the input scaling of TensorFlow's detectors."""

from __future__ import annotations

import numpy as np
import pytest

from odet_ros.detection.decode import (
    NMS,
    NORMALIZED,
    PIXELS,
    YOLOV5,
    OutputFormat,
    OutputLayoutError,
    anchor_count,
    decode,
    resolve_output_format,
)
from odet_ros.detection.letterbox import STRETCH, Letterboxer
from odet_ros.detection.postprocess import (
    COMBINED_NMS,
    DETECTION_POSTPROCESS,
    XYXY,
    YXYX,
    FourOutputs,
    OutputTensor,
    identify,
    pack,
)

# the runtime's listing, in an order no exporter promises (as a TF2 export lists them)
OUTPUTS = [
    OutputTensor(62, "StatefulPartitionedCall:1", (1, 20)),
    OutputTensor(64, "StatefulPartitionedCall:3", (1,)),
    OutputTensor(61, "StatefulPartitionedCall:0", (1, 20, 4)),
    OutputTensor(63, "StatefulPartitionedCall:2", (1, 20)),
]


def test_the_post_process_op_says_which_output_is_which():
    roles = identify(OUTPUTS, {"CONV_2D": [5], DETECTION_POSTPROCESS: [61, 62, 63, 64]})
    assert roles == FourOutputs(boxes=61, classes=62, scores=63, count=64, box_order=YXYX)
    # YOLOv5's --nms graph ends in TensorFlow's combined NMS: boxes, scores, classes, count
    roles = identify(OUTPUTS, {COMBINED_NMS: [61, 62, 63, 64]})
    assert roles == FourOutputs(boxes=61, scores=62, classes=63, count=64, box_order=XYXY)


def test_without_the_op_names_decide_and_else_the_error_says_so():
    named = [
        OutputTensor(1, "detection_scores", (1, 10)),
        OutputTensor(2, "detection_boxes", (1, 10, 4)),
        OutputTensor(3, "num_detections", (1,)),
        OutputTensor(4, "detection_classes", (1, 10)),
    ]
    assert identify(named) == FourOutputs(boxes=2, classes=4, scores=1, count=3)
    with pytest.raises(OutputLayoutError, match="cannot tell the classes from the scores"):
        identify(OUTPUTS)
    with pytest.raises(OutputLayoutError, match="expected four outputs"):
        identify(OUTPUTS[:3])


def test_packed_rows_stop_at_the_count_and_put_x_first():
    roles = FourOutputs(boxes=0, classes=1, scores=2, count=3)
    results = {
        0: np.array([[[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0], [0, 0, 0, 0]]], np.float32),
        1: np.array([[2.0, 0.0, 0.0]], np.float32),
        2: np.array([[0.9, 0.4, 0.0]], np.float32),
        3: np.array([2.0], np.float32),
    }
    rows = pack(results, roles)
    np.testing.assert_allclose(rows, [[[0.2, 0.1, 0.6, 0.5, 0.9, 2], [0, 0, 1, 1, 0.4, 0]]])
    xyxy = pack(results, FourOutputs(0, 1, 2, 3, box_order=XYXY))
    np.testing.assert_allclose(xyxy[0, 0, :4], [0.1, 0.2, 0.5, 0.6])
    found = decode(rows, OutputFormat(NMS, NORMALIZED, False), (100, 200), conf=0.5)
    np.testing.assert_allclose(found.xyxy, [[40, 10, 120, 50]], atol=1e-4)
    np.testing.assert_array_equal(found.class_ids, [2])


INPUT = (64, 64)


def yolov5_head(normalized: bool = False) -> np.ndarray:
    """[1, N, 5+2] with N = 3 anchors per cell at 64x64; two boxes worth finding."""
    n = 3 * anchor_count(INPUT)
    rows = np.zeros((n, 7), np.float32)
    rows[:, :4] = [32, 32, 4, 4]
    rows[0] = [20, 10, 8, 4, 0.9, 0.8, 0.1]  # 0.72 for class 0
    rows[5] = [50, 30, 10, 20, 0.5, 0.3, 0.9]  # 0.45 for class 1, runner-up 0.15
    rows[9] = [10, 10, 4, 4, 0.3, 0.9, 0.9]  # at most 0.27: under a 0.3 threshold
    if normalized:
        rows[:, :4] /= 64
    return rows[None]


def test_yolov5_head_scores_objectness_times_class():
    found = decode(yolov5_head(), OutputFormat(YOLOV5, PIXELS, False), INPUT, conf=0.3)
    np.testing.assert_allclose(found.scores, [0.72, 0.45], atol=1e-6)
    np.testing.assert_array_equal(found.class_ids, [0, 1])
    np.testing.assert_allclose(found.xyxy, [[16, 8, 24, 12], [45, 20, 55, 40]], atol=1e-4)
    np.testing.assert_allclose(found.runner_up[1], [0.09, 0.15], atol=1e-6)
    normalized = decode(yolov5_head(True), OutputFormat(YOLOV5, NORMALIZED, False), INPUT, 0.3)
    np.testing.assert_allclose(normalized.xyxy, found.xyxy, atol=1e-3)


def test_yolov5_head_is_recognised_by_its_three_anchors_per_cell_and_units_by_reach():
    head = yolov5_head()
    fmt = resolve_output_format(head.shape, 2, INPUT, sample=head)
    assert fmt == OutputFormat(YOLOV5, PIXELS, channels_first=False)
    small = yolov5_head(True)
    assert resolve_output_format(small.shape, 2, INPUT, sample=small).box_units == NORMALIZED
    with pytest.raises(OutputLayoutError, match=r"4 box values \+ objectness \+ 3 classes"):
        resolve_output_format(head.shape, 3, INPUT, kind=YOLOV5)


def test_stretch_fills_the_input_and_maps_back_per_axis():
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, :100] = 255  # left half white
    letterbox = Letterboxer((50, 50), layout="nhwc", resize=STRETCH, pixel_range=(-1.0, 1.0))
    tensor, geometry = letterbox(image)
    assert tensor.shape == (1, 50, 50, 3)
    np.testing.assert_allclose(tensor[0, :, :20], 1.0)  # white -> 1, no bands
    np.testing.assert_allclose(tensor[0, :, 30:], -1.0)  # black -> -1
    np.testing.assert_allclose(geometry.to_source(np.array([[0, 0, 25, 50]])), [[0, 0, 100, 100]])
    pixels, _ = Letterboxer((50, 50), layout="nhwc", dtype=np.uint8, resize=STRETCH)(image)
    assert pixels.dtype == np.uint8 and pixels[0, 0, 0, 0] == 255 and pixels[0, 0, 49, 0] == 0
