"""Detectors whose graph ends in NMS with four outputs: boxes, classes, scores and a count.

TensorFlow's detection post-process op (``TFLite_Detection_PostProcess``: SSD and
EfficientDet-Lite from the Object Detection API, MediaPipe Model Maker, Coral's examples) gives
boxes ``[1, N, 4]`` as normalised ymin, xmin, ymax, xmax; classes ``[1, N]`` (float ids, 0-based:
the background class is not counted); scores ``[1, N]``, best first; and the count ``[1]``.
YOLOv5's TFLite export with ``--nms`` ends in TensorFlow's ``CombinedNonMaxSuppression`` instead:
boxes as normalised x1, y1, x2, y2, then scores, classes and the count.

Exporters list the four outputs in different orders and name them differently
(``TFLite_Detection_PostProcess:1``, ``StatefulPartitionedCall:2``, ``detection_scores``), so
which is which is read from the op that makes them where the graph shows it, else from the names,
else from the shapes. :func:`pack` turns them into the ``[1, n, 6]`` rows of an NMS output
(x1, y1, x2, y2, score, class; normalised), which the decoder reads like any NMS export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from odet_ros.detection.errors import OutputLayoutError

DETECTION_POSTPROCESS = "TFLite_Detection_PostProcess"
COMBINED_NMS = "FlexCombinedNonMaxSuppression"  # YOLOv5's TFLite export --nms
# each op's outputs, in the op's own order
OP_OUTPUTS = {
    DETECTION_POSTPROCESS: ("boxes", "classes", "scores", "count"),
    COMBINED_NMS: ("boxes", "scores", "classes", "count"),
}
YXYX = "yxyx"
XYXY = "xyxy"
BOX_ORDER = {DETECTION_POSTPROCESS: YXYX, COMBINED_NMS: XYXY}


@dataclass(frozen=True)
class OutputTensor:
    """One model output as the runtime lists it."""

    index: int  # the runtime's tensor index
    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class FourOutputs:
    """Which runtime tensor holds what, and the order of the box coordinates."""

    boxes: int
    classes: int
    scores: int
    count: int
    box_order: str = YXYX


def is_four_output(outputs: Sequence[OutputTensor]) -> bool:
    """Whether the outputs have the shapes of a post-processed detector."""
    ranks = sorted(len(o.shape) for o in outputs)
    boxes = [o for o in outputs if len(o.shape) == 3 and o.shape[-1] == 4]
    return len(outputs) == 4 and ranks == [1, 2, 2, 3] and len(boxes) == 1


def identify(
    outputs: Sequence[OutputTensor], ops: Mapping[str, Sequence[int]] | None = None
) -> FourOutputs:
    """Which output is which: from the op that makes them (``ops``: op name -> its output tensor
    indices), else from names saying ``class`` and ``score``, else an error naming the tensors."""
    if not is_four_output(outputs):
        raise OutputLayoutError(
            "expected four outputs (boxes [1, N, 4], classes [1, N], scores [1, N], count [1]),"
            f" got {_listed(outputs)}"
        )
    for op, produced in (ops or {}).items():
        if op in OP_OUTPUTS and sorted(produced) == sorted(o.index for o in outputs):
            roles = dict(zip(OP_OUTPUTS[op], produced, strict=True))
            return FourOutputs(box_order=BOX_ORDER[op], **roles)
    boxes = next(o.index for o in outputs if len(o.shape) == 3)
    count = next(o.index for o in outputs if len(o.shape) == 1)
    pair = [o for o in outputs if len(o.shape) == 2]
    classes = [o.index for o in pair if "class" in o.name.lower()]
    scores = [o.index for o in pair if "score" in o.name.lower()]
    if len(classes) == 1 and len(scores) == 1 and classes != scores:
        return FourOutputs(boxes, classes[0], scores[0], count)
    raise OutputLayoutError(
        f"cannot tell the classes from the scores among {_listed(outputs)}: neither the graph's"
        f" {DETECTION_POSTPROCESS} op nor the tensor names say which is which"
    )


def pack(results: Mapping[int, np.ndarray], roles: FourOutputs) -> np.ndarray:
    """The detections as ``[1, n, 6]`` NMS rows (x1, y1, x2, y2, score, class), normalised;
    ``results`` maps each tensor index to its value. Rows past the count are padding."""
    boxes = np.asarray(results[roles.boxes], np.float32).reshape(-1, 4)
    count = int(np.asarray(results[roles.count]).reshape(-1)[0])
    n = min(max(count, 0), len(boxes))
    rows = np.empty((1, n, 6), np.float32)
    order = [1, 0, 3, 2] if roles.box_order == YXYX else [0, 1, 2, 3]
    rows[0, :, :4] = boxes[:n, order]
    rows[0, :, 4] = np.asarray(results[roles.scores], np.float32).reshape(-1)[:n]
    rows[0, :, 5] = np.asarray(results[roles.classes], np.float32).reshape(-1)[:n]
    return rows


def _listed(outputs: Sequence[OutputTensor]) -> str:
    return ", ".join(f"{o.name} {list(o.shape)}" for o in outputs)
