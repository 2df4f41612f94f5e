"""Instance masks of YOLO segmentation heads (``-seg`` models), decoded as Ultralytics does.

A -seg model has two outputs (DESIGN.md, "Ultralytics 8.4"; checked in its ``Segment`` head and
exports): the detection output with ``nm`` (32) mask coefficients after each box's class scores
(raw head ``[1, 4+nc+nm, N]``, NMS rows ``[1, N, 6+nm]``), and the prototypes ``[1, nm, H/4,
W/4]`` (ONNX and litert-torch exports; older onnx2tf ones are NHWC, ``[1, H/4, W/4, nm]``). A
detection's mask is ``sigmoid(coefficients @ prototypes) > 0.5``, i.e. the logit above 0,
upsampled bilinearly to the image and cut to the detection's box.

Ultralytics' ``retina_masks`` path (``process_mask_native``: the masks at the source image's
pixels) upsamples every mask to the whole frame, then crops it to the box. Here each mask is
sampled only inside its box, at the same positions (the letterbox mapped back through the
prototype grid), with the same bilinear weights (PyTorch's ``align_corners=False``, clamped at
the edge) and the same crop rule (pixel column c kept where x1 <= c < x2): one small matrix
product per axis over the prototype window under the box. :func:`decode_masks` with
``full_frame=True`` does the whole-frame upsampling instead, for the benchmark's comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from odet_ros.detection.errors import OutputLayoutError
from odet_ros.detection.instance_masks import InstanceMasks
from odet_ros.detection.letterbox import LetterboxGeometry

PROTO_STRIDE = 4  # prototypes are a quarter of the input's size


@dataclass(frozen=True)
class MaskHead:
    """Where a -seg model's outputs are: the detection output's index and the length of its
    row axis (``width``: 4 + nc + nm for a raw head, 6 + nm for NMS rows), the prototypes'
    index and layout, and the number of mask coefficients ``channels`` (nm)."""

    channels: int
    width: int
    detection_index: int
    proto_index: int
    proto_layout: str  # nchw | nhwc

    def split(self, outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(the detection output, prototypes as (nm, h, w)) of one run's outputs."""
        protos = outputs[self.proto_index][0]
        if self.proto_layout == "nhwc":
            protos = protos.transpose(2, 0, 1)
        return outputs[self.detection_index], protos

    def coefficients(self, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The detection output without its mask columns (what :func:`decode` reads), and the
        coefficients as (rows of the output, nm)."""
        cut = self.width - self.channels
        if output.shape[1] == self.width and output.shape[2] != self.width:  # [1, 4+nc+nm, N]
            return output[:, :cut], output[0, cut:].T
        return output[:, :, :cut], output[0, :, cut:]


def find_mask_head(outputs: Sequence[np.ndarray], num_classes: int) -> MaskHead | None:
    """The mask head of a model whose outputs are ``outputs``, None for a detector: a 4-d
    output (the prototypes) beside the 3-d detection output, whose extra columns (beyond box
    and class scores, or beyond an NMS row's six values) number the prototypes' channels."""
    three = [i for i, o in enumerate(outputs) if o.ndim == 3]
    four = [i for i, o in enumerate(outputs) if o.ndim == 4]
    if not four:
        return None
    if len(three) != 1 or len(four) != 1:
        shapes = [list(o.shape) for o in outputs]
        raise OutputLayoutError(
            f"a segmentation model needs a detection and a prototype output, got {shapes}"
        )
    detection, protos = outputs[three[0]], outputs[four[0]]
    short = min(detection.shape[1:])
    candidates = [(short, short - 4 - num_classes), (detection.shape[2], detection.shape[2] - 6)]
    for width, channels in candidates:
        for axis, layout in ((1, "nchw"), (3, "nhwc")):
            if channels > 0 and protos.shape[axis] == channels:
                return MaskHead(channels, width, three[0], four[0], layout)
    raise OutputLayoutError(
        f"prototypes {list(protos.shape)} do not match the mask coefficients of a detection"
        f" output {list(detection.shape)} for {num_classes} classes"
    )


@dataclass(frozen=True)
class AxisMapping:
    """Where one axis's pixel centres fall on the prototype grid, as Ultralytics'
    ``process_mask_native`` samples them: the prototypes upsampled by ``factor`` (1, 2 or 4:
    the least that crops the letterbox padding on whole pixels), the image's ``content`` cells
    from ``offset`` cropped out and resized to its ``size`` pixels (bilinear, clamped at the
    crop's edges), then mapped back through the upsampling (clamped at the grid's)."""

    size: int
    content: int
    offset: int
    factor: int
    cells: int  # prototype cells along this axis

    def weights(self, first: int, end: int) -> tuple[NDArray[np.float32], int]:
        """How pixels ``first`` to ``end`` - 1 mix the prototype cells: a (pixels, cells)
        matrix over the cells from the returned start, both bilinear steps composed."""
        if end <= first:
            return np.zeros((0, 0), np.float32), 0
        pixels = np.arange(first, end, dtype=np.float64)
        crop = np.clip((pixels + 0.5) * self.content / self.size - 0.5, 0, self.content - 1)
        terms = []
        for upsampled, weight in _neighbours(crop, self.content):
            grid = np.clip((upsampled + self.offset + 0.5) / self.factor - 0.5, 0, self.cells - 1)
            terms += [(cell, weight * share) for cell, share in _neighbours(grid, self.cells)]
        start = min(int(cell.min()) for cell, _ in terms)
        stop = max(int(cell.max()) for cell, _ in terms) + 1
        matrix = np.zeros((len(pixels), stop - start), np.float64)
        rows = np.arange(len(pixels))
        for cell, weight in terms:
            np.add.at(matrix, (rows, cell - start), weight)
        return matrix.astype(np.float32), start


def _neighbours(
    positions: NDArray[np.float64], size: int
) -> list[tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """The two cells linear interpolation reads at each position, with their weights."""
    low = np.floor(positions).astype(np.int64)
    frac = positions - low
    return [(low, 1 - frac), (np.minimum(low + 1, size - 1), frac)]


def proto_mapping(
    geometry: LetterboxGeometry, proto_hw: tuple[int, int]
) -> tuple[AxisMapping, AxisMapping]:
    """The (x, y) mappings of a source image of ``geometry`` onto prototypes of ``proto_hw``."""
    mh, mw = proto_hw
    h, w = geometry.source_hw
    gain = min(PROTO_STRIDE * mh / h, PROTO_STRIDE * mw / w)
    pad = (PROTO_STRIDE * mh - max(round(h * gain), 1)) | (
        PROTO_STRIDE * mw - max(round(w * gain), 1)
    )
    f = PROTO_STRIDE // math.gcd(PROTO_STRIDE, pad | pad // 2)
    gain_f = min(mh * f / h, mw * f / w)
    content_w, content_h = max(round(w * gain_f), 1), max(round(h * gain_f), 1)
    left = round((mw * f - content_w) / 2 - 0.1)
    top = round((mh * f - content_h) / 2 - 0.1)
    return AxisMapping(w, content_w, left, f, mw), AxisMapping(h, content_h, top, f, mh)


def decode_masks(
    coefficients: np.ndarray,
    protos: np.ndarray,
    boxes: np.ndarray,
    geometry: LetterboxGeometry,
    full_frame: bool = False,
) -> InstanceMasks:
    """The masks of detections with ``coefficients`` (N, nm) and source-pixel ``boxes`` (N, 4),
    from ``protos`` (nm, h, w): sampled inside each box, or (``full_frame``) over the whole
    image and then cut to the box, as Ultralytics does; the same pixels either way."""
    mapping = proto_mapping(geometry, protos.shape[1:])
    height, width = geometry.source_hw
    flat = protos.reshape(protos.shape[0], -1).astype(np.float32)
    crops, origins = [], []
    for coefficient, box in zip(np.asarray(coefficients, np.float32), boxes, strict=True):
        x0, x1 = _pixel_span(box[0], box[2], width)
        y0, y1 = _pixel_span(box[1], box[3], height)
        if full_frame:
            whole = _upsample(coefficient @ flat, protos.shape[1:], mapping)
            crop = whole[y0:y1, x0:x1] > 0
        else:
            crop = _box_logits(coefficient, protos, mapping, (x0, x1), (y0, y1)) > 0
        crops.append(crop)
        origins.append((x0, y0))
    return InstanceMasks((height, width), np.array(origins, np.int64).reshape(-1, 2), tuple(crops))


def _pixel_span(low: float, high: float, size: int) -> tuple[int, int]:
    """The pixel indices c with low <= c < high, within the image, as (first, end)."""
    first = min(max(math.ceil(low), 0), size)
    return first, max(first, min(math.ceil(high), size))


def _box_logits(
    coefficient: np.ndarray,
    protos: np.ndarray,
    mapping: tuple[AxisMapping, AxisMapping],
    columns: tuple[int, int],
    rows: tuple[int, int],
) -> NDArray[np.float32]:
    """The mask logits of one detection at the pixels of its box: the prototype window the box
    reads from, combined, then interpolated along each axis."""
    along_x, u0 = mapping[0].weights(*columns)
    along_y, v0 = mapping[1].weights(*rows)
    if not along_x.size or not along_y.size:
        return np.zeros((len(along_y), len(along_x)), np.float32)
    window = protos[:, v0 : v0 + along_y.shape[1], u0 : u0 + along_x.shape[1]]
    logits = np.tensordot(coefficient, window, axes=1).astype(np.float32)
    result: NDArray[np.float32] = along_y @ logits @ along_x.T
    return result


def _upsample(
    logits: np.ndarray, proto_hw: tuple[int, int], mapping: tuple[AxisMapping, AxisMapping]
) -> NDArray[np.float32]:
    """One detection's prototype-grid logits over the whole image."""
    along_x, u0 = mapping[0].weights(0, mapping[0].size)
    along_y, v0 = mapping[1].weights(0, mapping[1].size)
    grid = logits.reshape(proto_hw)[v0 : v0 + along_y.shape[1], u0 : u0 + along_x.shape[1]]
    result: NDArray[np.float32] = along_y @ grid @ along_x.T
    return result
