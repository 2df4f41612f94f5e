"""Turn a detector's output tensor into candidate boxes in network-input pixels.

Three families of output exist (DESIGN.md, "Ultralytics 8.4" and "Other toolchains"):

- the raw head, ``[1, 4+nc, N]`` or its transpose ``[1, N, 4+nc]``: centre x, centre y, width,
  height, then one sigmoid score per class (no objectness). ONNX exports give the box in input
  pixels, LiteRT exports normalise it by the input width and height;
- NMS-included and YOLO26 end-to-end exports, ``[1, N, 6]``: x1, y1, x2, y2, score, class (the
  four outputs of TFLite's detection post-process op arrive packed in this layout, see
  :mod:`.postprocess`);
- the anchor-based YOLOv5 head (the original ultralytics/yolov5 repository, and YOLOv7 alike),
  ``[1, N, 5+nc]`` with N = 3 anchors per cell: centre x, centre y, width, height, objectness,
  then per-class scores; a box scores objectness x class score. ONNX exports give pixels, its
  TFLite exports normalise.

:class:`OutputFormat` is settled once per model (from the bundle, the model's metadata or, failing
both, the tensor itself); :func:`decode` then runs per frame with whole-array numpy operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from odet_ros.detection.errors import OutputLayoutError

RAW = "raw"
NMS = "nms"
YOLOV5 = "yolov5"
OUTPUT_KINDS = (RAW, NMS, YOLOV5)
PIXELS = "pixels"
NORMALIZED = "normalized"
BOX_UNITS = (PIXELS, NORMALIZED)
HEAD_STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class OutputFormat:
    """How to read one model's output tensor."""

    kind: str  # RAW, NMS or YOLOV5
    box_units: str  # PIXELS or NORMALIZED
    channels_first: bool = True  # raw heads only: [1, 4+nc, N] rather than [1, N, 4+nc]


@dataclass(frozen=True)
class Candidates:
    """Boxes that passed the score threshold and class filter, in network-input pixels."""

    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    runner_up: tuple[np.ndarray, np.ndarray] | None = None  # second-best class ids, scores
    rows: np.ndarray | None = None  # each candidate's row (anchor) in the output


def anchor_count(input_hw: tuple[int, int]) -> int:
    """Number of predictions a raw YOLO head makes for this input size (8400 at 640x640); the
    YOLOv5 head makes three per cell (25200)."""
    h, w = input_hw
    return sum((h // s) * (w // s) for s in HEAD_STRIDES)


YOLOV5_ANCHORS_PER_CELL = 3


def resolve_output_format(
    shape: tuple[int, ...],
    num_classes: int,
    input_hw: tuple[int, int],
    *,
    kind: str | None = None,
    box_units: str | None = None,
    sample: np.ndarray | None = None,
) -> OutputFormat:
    """Settle kind, orientation and box units from the output shape and what is declared.

    ``kind`` and ``box_units`` come from a bundle or the model's metadata when they say; otherwise
    the shape decides the kind (a raw head has one column per anchor) and ``sample``, a first
    output, decides the units. Raises :class:`OutputLayoutError` when the shape fits neither.
    """
    if len(shape) != 3 or shape[0] != 1:
        raise OutputLayoutError(f"expected an output of shape [1, C, N] or [1, N, C], got {shape}")
    width = 4 + num_classes
    if kind is None:
        kind = _guess_kind(shape, width, input_hw)
    if kind == NMS:
        if shape[2] < 6:
            raise OutputLayoutError(
                f"an NMS output needs [1, N, 6] (x1 y1 x2 y2 score class), got {shape}"
            )
        channels_first = False
    elif kind in (RAW, YOLOV5):
        width += kind == YOLOV5  # the objectness column
        if width not in shape[1:]:
            objectness = " + objectness" if kind == YOLOV5 else ""
            raise OutputLayoutError(
                f"output {list(shape)} has no axis of 4 box values{objectness} + {num_classes}"
                f" classes = {width}: the class names do not match the model"
            )
        channels_first = shape[1] == width
    else:
        raise OutputLayoutError(f"output format must be one of {OUTPUT_KINDS}, not {kind!r}")
    if box_units is None:
        box_units = (
            _guess_units(sample, kind, channels_first, input_hw) if sample is not None else PIXELS
        )
    elif box_units not in BOX_UNITS:
        raise OutputLayoutError(f"box units must be one of {BOX_UNITS}, not {box_units!r}")
    return OutputFormat(kind, box_units, channels_first)


def _guess_kind(shape: tuple[int, ...], width: int, input_hw: tuple[int, int]) -> str:
    anchors = anchor_count(input_hw)
    if anchors in shape[1:]:
        return RAW  # one column per anchor: a raw head, whatever its class count
    if YOLOV5_ANCHORS_PER_CELL * anchors == shape[1] and shape[2] == width + 1:
        return YOLOV5  # three anchors per cell, then box, objectness and class scores
    if shape[2] == 6:
        return NMS
    if width in shape[1:]:
        return RAW
    if shape[2] == width + 1:
        return YOLOV5
    raise OutputLayoutError(
        f"cannot tell the output format of shape {list(shape)} for {width - 4} classes at input"
        f" {input_hw[1]}x{input_hw[0]}; state it in the bundle (output_format: raw or nms)"
    )


def _guess_units(
    sample: np.ndarray, kind: str, channels_first: bool, input_hw: tuple[int, int]
) -> str:
    """Pixel boxes of a raw head have centres across the whole input, because its anchors tile
    the image whatever the weights; normalised centres stay near 0-1 (widths may not)."""
    rows = sample[0].T if kind != NMS and channels_first else sample[0]  # one row per box
    coords = rows[:, :4] if kind == NMS else rows[:, :2]
    reach = float(np.abs(coords).max(initial=0.0))
    return PIXELS if reach > min(input_hw) / 4 else NORMALIZED


def decode(
    output: np.ndarray,
    fmt: OutputFormat,
    input_hw: tuple[int, int],
    conf: float,
    classes: np.ndarray | None = None,
) -> Candidates:
    """Candidates scoring above ``conf`` (strictly, as Ultralytics), best class, then the
    class filter; boxes as x1, y1, x2, y2 in input pixels. A raw head with two classes or
    more also gives each box's runner-up class."""
    runner_up = None
    if fmt.kind == NMS:
        rows = output[0]
        boxes, scores, class_ids = rows[:, :4], rows[:, 4], rows[:, 5]
        keep = scores > conf
        boxes, scores, class_ids = boxes[keep], scores[keep], class_ids[keep]
        xyxy = np.asarray(boxes, np.float32)
        picked = np.flatnonzero(keep)
    else:
        x = output[0] if fmt.channels_first else output[0].T  # one column per anchor
        if fmt.kind == YOLOV5:
            # a box scores at most its objectness: only those above conf are multiplied out
            kept = np.flatnonzero(x[4] > conf)
            boxes, class_scores = x[:4, kept], x[5:, kept] * x[4, kept]
        else:
            boxes, class_scores = x[:4], x[4:]
        best = class_scores.max(axis=0, initial=-np.inf)
        keep = np.flatnonzero(best > conf)
        picked = kept[keep] if fmt.kind == YOLOV5 else keep
        scores = best[keep]
        kept_scores = class_scores[:, keep]
        class_ids = kept_scores.argmax(axis=0)
        runner_up = _runner_up(kept_scores, class_ids)
        cx, cy, w, h = (np.asarray(v, np.float32) for v in boxes[:, keep])
        half_w, half_h = w / 2, h / 2
        xyxy = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    if fmt.box_units == NORMALIZED:
        ih, iw = input_hw
        xyxy = xyxy * np.array([iw, ih, iw, ih], np.float32)
    class_ids = np.asarray(class_ids).astype(np.int64)
    if classes is not None:
        wanted = np.isin(class_ids, classes)
        xyxy, scores, class_ids = xyxy[wanted], scores[wanted], class_ids[wanted]
        picked = picked[wanted]
        if runner_up is not None:
            runner_up = (runner_up[0][wanted], runner_up[1][wanted])
    return Candidates(
        xyxy.reshape(-1, 4), np.asarray(scores, np.float32), class_ids, runner_up, picked
    )


def _runner_up(class_scores: np.ndarray, best: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Each column's second-best class and score (classes along axis 0, ``best`` the first)."""
    if len(class_scores) < 2:
        return None
    columns = np.arange(class_scores.shape[1])
    others = np.array(class_scores, np.float32)
    others[best, columns] = -np.inf
    second = others.argmax(axis=0)
    return second.astype(np.int64), others[second, columns]
