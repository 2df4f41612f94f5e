"""Letterbox geometry, tensor contents and the inverse mapping to source pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odet_ros.detection.letterbox import Letterboxer, LetterboxGeometry


def reference_tensor(image: np.ndarray, size: int) -> np.ndarray:
    """Ultralytics' steps done the slow, obvious way: resize, copyMakeBorder, RGB, /255, NCHW."""
    h, w = image.shape[:2]
    r = min(size / h, size / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (size - new_w) / 2, (size - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    padded = cv2.copyMakeBorder(
        resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114)
    )
    return padded[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255


@pytest.mark.parametrize(
    "shape", [(480, 640), (640, 480), (320, 320), (197, 263), (1, 500), (100, 160)]
)
def test_tensor_matches_the_reference_steps(shape):
    image = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    tensor, geometry = Letterboxer((160, 160))(image)
    np.testing.assert_allclose(tensor, reference_tensor(image, 160), atol=1e-6)
    assert geometry.input_hw == (160, 160)


def test_tensor_matches_ultralytics_letterbox():
    augment = pytest.importorskip("ultralytics.data.augment")
    image = np.random.default_rng(1).integers(0, 256, (181, 323, 3), dtype=np.uint8)
    for stride in (None, 32):
        expected = augment.LetterBox((224, 224), auto=stride is not None, stride=stride or 32)(
            image=image
        )
        tensor, geometry = Letterboxer((224, 224), stride=stride)(image)
        assert geometry.input_hw == expected.shape[:2]
        np.testing.assert_allclose(
            tensor[0], expected[..., ::-1].transpose(2, 0, 1) / np.float32(255), atol=1e-6
        )


def test_nhwc_and_float16_layouts_hold_the_same_values():
    image = np.random.default_rng(2).integers(0, 256, (90, 200, 3), dtype=np.uint8)
    nchw, _ = Letterboxer((96, 128))(image)
    nhwc, _ = Letterboxer((96, 128), layout="nhwc", dtype=np.float16)(image)
    assert nhwc.shape == (1, 96, 128, 3) and nhwc.dtype == np.float16
    np.testing.assert_allclose(nhwc[0].transpose(2, 0, 1), nchw[0], atol=1e-3)


def test_buffers_are_reused_and_repadded_when_the_source_size_changes():
    letterbox = Letterboxer((64, 64))
    white_wide = np.full((32, 64, 3), 255, np.uint8)
    white_tall = np.full((64, 32, 3), 255, np.uint8)
    first, _ = letterbox(white_wide)
    first_copy = first.copy()
    second, _ = letterbox(white_tall)
    assert second is first  # one preallocated tensor
    grey = 114 / 255
    np.testing.assert_allclose(first_copy[0, :, 0, 0], grey, rtol=1e-6)  # top padding
    np.testing.assert_allclose(second[0, :, 0, 0], grey, rtol=1e-6)  # left padding
    np.testing.assert_array_equal(second[0, :, 32, 16:48], 1.0)
    np.testing.assert_allclose(second[0, :, 32, :16], grey, rtol=1e-6)  # no white left in the pad


@pytest.mark.parametrize(
    ("color", "convert"),
    [
        ("rgb8", cv2.COLOR_BGR2RGB),
        ("mono8", cv2.COLOR_BGR2GRAY),
        ("bgra8", cv2.COLOR_BGR2BGRA),
        ("rgba8", cv2.COLOR_BGR2RGBA),
    ],
)
def test_colour_orders_give_the_bgr_result(color, convert):
    image = np.random.default_rng(3).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    if color == "mono8":
        image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    expected, _ = Letterboxer((64, 64))(image)
    expected = expected.copy()
    tensor, _ = Letterboxer((64, 64))(cv2.cvtColor(image, convert), color)
    np.testing.assert_allclose(tensor, expected, atol=1e-6)


def test_wrong_channel_count_or_colour_names_the_problem():
    with pytest.raises(ValueError, match="rgb8 image must be uint8 with 3"):
        Letterboxer((64, 64))(np.zeros((10, 10), np.uint8), "rgb8")
    with pytest.raises(ValueError, match="unsupported colour order 'yuv422'"):
        Letterboxer((64, 64))(np.zeros((10, 10, 3), np.uint8), "yuv422")


@settings(deadline=None)  # shared CI cores: no timing in tests
@given(
    h=st.integers(1, 2000),
    w=st.integers(1, 2000),
    size=st.sampled_from([(160, 160), (320, 320), (384, 640)]),
    stride=st.sampled_from([None, 32]),
    box=st.tuples(*[st.floats(0, 1)] * 4),
)
def test_inverse_mapping_undoes_the_letterbox(h, w, size, stride, box):
    geometry = LetterboxGeometry.fit((h, w), size, stride)
    x1, x2 = sorted((box[0] * w, box[2] * w))
    y1, y2 = sorted((box[1] * h, box[3] * h))
    gain_x, gain_y = geometry.resized_hw[1] / w, geometry.resized_hw[0] / h
    in_input = np.array(
        [
            [
                x1 * gain_x + geometry.left,
                y1 * gain_y + geometry.top,
                x2 * gain_x + geometry.left,
                y2 * gain_y + geometry.top,
            ]
        ]
    )
    np.testing.assert_allclose(
        geometry.to_source(in_input), [[x1, y1, x2, y2]], rtol=1e-4, atol=1e-3 * max(h, w)
    )
    assert geometry.top + geometry.resized_hw[0] <= geometry.input_hw[0]
    assert geometry.left + geometry.resized_hw[1] <= geometry.input_hw[1]
    if stride:  # the smallest stride-aligned rectangle
        assert all(
            v % stride == 0 and v - stride < r
            for v, r in zip(geometry.input_hw, geometry.resized_hw, strict=True)
        )


def test_boxes_in_the_padding_are_clipped_to_the_image():
    geometry = LetterboxGeometry.fit((180, 320), (160, 160))  # 160x90 image, 35 px bands
    assert (geometry.top, geometry.left, geometry.resized_hw) == (35, 0, (90, 160))
    boxes = geometry.to_source(np.array([[-10, 0, 170, 160], [10, 40, 20, 50]], np.float32))
    np.testing.assert_allclose(boxes, [[0, 0, 320, 180], [20, 10, 40, 30]], atol=1e-4)
