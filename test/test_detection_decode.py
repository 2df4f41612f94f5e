"""Decoding hand-built output tensors of every layout, and settling the format of an output."""

from __future__ import annotations

import numpy as np
import pytest

from odet_ros.detection.decode import (
    NMS,
    NORMALIZED,
    PIXELS,
    RAW,
    OutputFormat,
    OutputLayoutError,
    anchor_count,
    decode,
    resolve_output_format,
)

INPUT = (64, 96)  # (h, w)
# three anchors of a 2-class raw head: (cx, cy, w, h, score class 0, score class 1)
ANCHORS = np.array(
    [
        [20, 10, 8, 4, 0.9, 0.1],  # class 0
        [50, 30, 10, 20, 0.2, 0.6],  # class 1
        [70, 40, 6, 6, 0.3, 0.2],  # below a 0.5 threshold
    ],
    np.float32,
)


def raw_head(channels_first: bool = True, normalized: bool = False) -> np.ndarray:
    anchors = ANCHORS.copy()
    if normalized:
        anchors[:, [0, 2]] /= INPUT[1]
        anchors[:, [1, 3]] /= INPUT[0]
    return (anchors.T if channels_first else anchors)[None]


@pytest.mark.parametrize(
    ("channels_first", "units"),
    [(True, PIXELS), (False, PIXELS), (True, NORMALIZED), (False, NORMALIZED)],
)
def test_raw_head_in_every_layout_gives_the_same_candidates(channels_first, units):
    output = raw_head(channels_first, units == NORMALIZED)
    found = decode(output, OutputFormat(RAW, units, channels_first), INPUT, conf=0.5)
    np.testing.assert_allclose(found.xyxy, [[16, 8, 24, 12], [45, 20, 55, 40]], atol=1e-4)
    np.testing.assert_allclose(found.scores, [0.9, 0.6], atol=1e-6)
    np.testing.assert_array_equal(found.class_ids, [0, 1])
    assert found.xyxy.dtype == np.float32 and found.class_ids.dtype == np.int64


def test_threshold_is_strict_and_class_filter_follows_best_class():
    fmt = OutputFormat(RAW, PIXELS)
    assert len(decode(raw_head(), fmt, INPUT, conf=0.9).scores) == 0  # 0.9 is not above 0.9
    found = decode(raw_head(), fmt, INPUT, conf=0.15, classes=np.array([0]))
    # anchor 1's best class is 1, so it goes even though its class-0 score passes
    np.testing.assert_allclose(found.scores, [0.9, 0.3], atol=1e-6)


def test_a_raw_head_gives_each_box_its_runner_up_class_an_nms_head_cannot():
    found = decode(raw_head(), OutputFormat(RAW, PIXELS), INPUT, conf=0.25)
    runner_up_ids, runner_up_scores = found.runner_up
    np.testing.assert_array_equal(runner_up_ids, [1, 0, 1])
    np.testing.assert_allclose(runner_up_scores, [0.1, 0.2, 0.2], atol=1e-6)
    filtered = decode(
        raw_head(), OutputFormat(RAW, PIXELS), INPUT, conf=0.25, classes=np.array([1])
    )
    np.testing.assert_array_equal(filtered.runner_up[0], [0])  # follows the class filter
    one_class = raw_head()[:, :5]
    assert decode(one_class, OutputFormat(RAW, PIXELS), INPUT, conf=0.25).runner_up is None
    rows = np.array([[[1, 2, 30, 40, 0.8, 1]]], np.float32)
    assert decode(rows, OutputFormat(NMS, PIXELS), INPUT, conf=0.25).runner_up is None


def test_nms_output_rows_decode_directly():
    rows = np.array(
        [[[10, 20, 30, 40, 0.8, 2], [1, 2, 3, 4, 0.4, 0], [5, 5, 9, 9, 0.05, 1]]], np.float32
    )
    found = decode(rows, OutputFormat(NMS, PIXELS, channels_first=False), INPUT, conf=0.25)
    np.testing.assert_allclose(found.xyxy, [[10, 20, 30, 40], [1, 2, 3, 4]])
    np.testing.assert_array_equal(found.class_ids, [2, 0])
    normalized = rows.copy()
    normalized[0, :, [0, 2]] /= INPUT[1]
    normalized[0, :, [1, 3]] /= INPUT[0]
    again = decode(
        normalized, OutputFormat(NMS, NORMALIZED, channels_first=False), INPUT, conf=0.25
    )
    np.testing.assert_allclose(again.xyxy, found.xyxy, atol=1e-4)


def test_anchor_count_of_a_640_model_is_8400():
    assert anchor_count((640, 640)) == 8400


def test_format_is_guessed_from_shape_and_sample():
    size = (160, 160)
    anchors = anchor_count(size)
    spread = np.linspace(0, 160, anchors, dtype=np.float32)
    raw = np.zeros((1, 6, anchors), np.float32)
    raw[0, :4] = spread  # pixel boxes span the input
    assert resolve_output_format(raw.shape, 2, size, sample=raw) == OutputFormat(RAW, PIXELS, True)
    normalized = raw / 160
    assert (
        resolve_output_format(normalized.shape, 2, size, sample=normalized).box_units == NORMALIZED
    )
    transposed = raw.transpose(0, 2, 1)
    assert (
        resolve_output_format(transposed.shape, 2, size, sample=transposed).channels_first is False
    )
    # 2 classes make a raw row 6 wide like an NMS row: the anchor count tells them apart
    nms = np.zeros((1, 300, 6), np.float32)
    assert resolve_output_format(nms.shape, 2, size).kind == NMS
    assert resolve_output_format(nms.shape, 80, size).kind == NMS


def test_declared_format_wins_and_bad_shapes_are_explained():
    assert (
        resolve_output_format((1, 300, 6), 80, (640, 640), kind=NMS, box_units=NORMALIZED).box_units
        == NORMALIZED
    )
    with pytest.raises(OutputLayoutError, match="no axis of 4 box values \\+ 3 classes = 7"):
        resolve_output_format((1, 84, 8400), 3, (640, 640))
    with pytest.raises(OutputLayoutError, match="no axis of 4 box values"):
        resolve_output_format((1, 84, 8400), 3, (640, 640), kind=RAW)
    with pytest.raises(OutputLayoutError, match="shape \\[1, C, N\\]"):
        resolve_output_format((84, 8400), 80, (640, 640))
    with pytest.raises(OutputLayoutError, match="must be one of"):
        resolve_output_format((1, 84, 8400), 80, (640, 640), kind="boxes")
