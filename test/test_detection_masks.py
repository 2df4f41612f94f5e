"""Instance masks of segmentation heads: decoded from prototypes exactly where Ultralytics' own
``process_mask_native`` puts them (box-local and whole-frame upsampling alike), the output
layouts recognised, and the mask container's label image, outlines and subsets."""

from __future__ import annotations

import numpy as np
import pytest

from odet_ros.detection.errors import OutputLayoutError
from odet_ros.detection.instance_masks import InstanceMasks
from odet_ros.detection.letterbox import LetterboxGeometry
from odet_ros.detection.masks import decode_masks, find_mask_head
from odet_ros.labels.rle import polygon_mask

CASES = [  # (source (h, w), network input (h, w), stride for a rectangle input)
    ((480, 640), (320, 320), None),
    ((480, 640), (320, 320), 32),  # 320x256, as a .pt or dynamic ONNX runs it
    ((197, 263), (160, 160), None),
    ((240, 320), (256, 256), None),
    ((720, 1280), (640, 640), None),
    ((160, 160), (160, 160), None),
    ((300, 100), (320, 320), None),
]


def smooth_prototypes(rng: np.random.Generator, channels: int, hw: tuple[int, int]) -> np.ndarray:
    """Prototype maps with blobs a few cells wide, as trained ones look (and not pure noise,
    whose threshold crossings sit everywhere)."""
    coarse = rng.normal(0, 1, (channels, hw[0] // 4 + 2, hw[1] // 4 + 2)).astype(np.float32)
    import cv2

    return np.stack([cv2.resize(c, (hw[1], hw[0]), interpolation=cv2.INTER_CUBIC) for c in coarse])


def case_inputs(seed: int, source_hw, input_hw, stride):
    rng = np.random.default_rng(seed)
    geometry = LetterboxGeometry.fit(source_hw, input_hw, stride)
    protos = smooth_prototypes(rng, 32, (geometry.input_hw[0] // 4, geometry.input_hw[1] // 4))
    coefficients = rng.normal(0, 1, (6, 32)).astype(np.float32)
    corners = np.sort(rng.uniform(0, 1, (6, 2, 2)), axis=1)  # (box, corner, axis)
    ih, iw = geometry.input_hw
    boxes_input = np.column_stack(
        [corners[:, 0, 0] * iw, corners[:, 0, 1] * ih, corners[:, 1, 0] * iw, corners[:, 1, 1] * ih]
    )
    return geometry, protos, coefficients, geometry.to_source(boxes_input)


@pytest.mark.parametrize(("source_hw", "input_hw", "stride"), CASES)
def test_masks_are_ultralytics_native_masks(source_hw, input_hw, stride):
    torch = pytest.importorskip("torch")
    pytest.importorskip("ultralytics")
    from ultralytics.utils import ops

    for seed in range(4):
        geometry, protos, coefficients, boxes = case_inputs(seed, source_hw, input_hw, stride)
        reference = (
            ops.process_mask_native(
                torch.from_numpy(protos),
                torch.from_numpy(coefficients),
                torch.from_numpy(boxes.astype(np.float32)),
                source_hw,
            )
            .numpy()
            .astype(bool)
        )
        for full_frame in (False, True):
            masks = decode_masks(coefficients, protos, boxes, geometry, full_frame=full_frame)
            assert masks.image_hw == source_hw and len(masks) == len(boxes)
            for index, expected in enumerate(reference):
                ours = masks.full(index)
                differ = int((ours ^ expected).sum())
                # the same pixels (0 differ here), but for a logit within float error of 0
                assert differ <= 1, (seed, full_frame, index, differ)


def test_box_local_and_full_frame_give_the_same_pixels():
    geometry, protos, coefficients, boxes = case_inputs(9, (480, 640), (320, 320), None)
    local = decode_masks(coefficients, protos, boxes, geometry)
    whole = decode_masks(coefficients, protos, boxes, geometry, full_frame=True)
    for index in range(len(boxes)):
        np.testing.assert_array_equal(local.full(index), whole.full(index))
        x0, y0 = local.origins[index]
        # each mask stays inside its box: pixel columns c with x1 <= c < x2
        rows, columns = local.pixels(index)
        if len(rows):
            assert columns.min() >= boxes[index, 0] and columns.max() < boxes[index, 2]
            assert rows.min() >= boxes[index, 1] and rows.max() < boxes[index, 3]
            assert (x0, y0) == (int(np.ceil(boxes[index, 0])), int(np.ceil(boxes[index, 1])))


def test_the_output_layouts_are_recognised():
    protos_nchw = np.zeros((1, 32, 40, 40), np.float32)
    raw = np.zeros((1, 4 + 3 + 32, 525), np.float32)
    head = find_mask_head([raw, protos_nchw], 3)
    assert (head.channels, head.width, head.proto_layout) == (32, 39, "nchw")
    cut, coefficients = head.coefficients(raw)
    assert cut.shape == (1, 7, 525) and coefficients.shape == (525, 32)
    transposed = find_mask_head([raw.transpose(0, 2, 1), protos_nchw.transpose(0, 2, 3, 1)], 3)
    assert transposed.proto_layout == "nhwc"
    assert transposed.coefficients(raw.transpose(0, 2, 1))[0].shape == (1, 525, 7)
    rows = np.zeros((1, 300, 6 + 32), np.float32)  # NMS-included export
    nms = find_mask_head([rows, protos_nchw], 80)
    assert nms.width == 38 and nms.coefficients(rows)[0].shape == (1, 300, 6)
    assert find_mask_head([raw], 3) is None  # a detector
    with pytest.raises(OutputLayoutError, match="do not match the mask coefficients"):
        find_mask_head([raw, np.zeros((1, 16, 40, 40), np.float32)], 3)
    with pytest.raises(OutputLayoutError, match="a detection and a prototype output"):
        find_mask_head([raw, raw, protos_nchw], 3)


def test_label_image_outlines_and_subsets():
    first = np.zeros((10, 20), bool)
    first[2:8, 3:15] = True
    second = np.zeros((12, 12), bool)
    second[:, :6] = True
    masks = InstanceMasks((30, 40), np.array([[5, 5], [10, 8]]), (first, second))
    labels = masks.label_image()
    assert labels.dtype == np.uint16 and labels.shape == (30, 40)
    assert (labels == 1).sum() == first.sum()  # the first listed wins where both cover
    assert (labels == 2).sum() == second.sum() - (masks.full(0) & masks.full(1)).sum()
    assert masks.areas().tolist() == [first.sum(), second.sum()]
    (outline,) = masks.outline(0)
    np.testing.assert_array_equal(polygon_mask(outline, 30, 40), masks.full(0))
    swapped = masks.select(np.array([1, 0]))
    np.testing.assert_array_equal(swapped.full(0), masks.full(1))
    assert len(masks.select(np.array([False, True]))) == 1
    assert len(InstanceMasks.empty((30, 40)).label_image().nonzero()[0]) == 0
