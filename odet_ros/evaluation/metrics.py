"""Detection metrics of predictions against ground truth, in COCO or Ultralytics mode.

:func:`evaluate_detections` takes one :class:`~odet_ros.detection.types.Detections` and one
:class:`~odet_ros.dataset.reader.GroundTruth` (or ``(xyxy, class_ids)``) per image, boxes in
the image's pixels, and returns an :class:`Evaluation`. Only the AP differs between the modes
(:mod:`.coco`, :mod:`.yolo`); precision, recall and F1 are read the same way in both, from the
matches at IoU 0.5: at the best-F1 confidence (what ``yolo val`` prints as P and R) and at the
robot's threshold ``conf`` (counted exactly). Overall figures are means over the classes that have
ground truth, as both COCOeval and Ultralytics average.

``Evaluation.to_dict()`` is the JSON schema ``odet eval`` writes (``schema``: "odet.evaluation/1";
None where a figure is undefined, e.g. the AP of a class without ground truth)::

    schema, mode ("coco" | "ultralytics"), conf, names: [str], images, instances,
    iou_thresholds: [float]                   # the mode's 10 IoU thresholds, 0.50..0.95
    overall: {map50, map75, map50_95,         # mean over classes with ground truth
              precision, recall, f1, best_f1_conf,       # at the best mean-F1 confidence
              precision_at_conf, recall_at_conf, f1_at_conf}   # scores > conf
    classes: [{id, name, images, instances,   # images holding the class, boxes of it
               predictions_at_conf,           # predictions of it scoring > conf
               ap50, ap75, ap50_95, precision, recall, f1,
               precision_at_conf, recall_at_conf, f1_at_conf}]
    confusion_matrix: {conf, iou, labels: [*names, "background"],
                       matrix: [[int]]}       # rows predicted, columns true
    curves: {pr: {recall: [float], precision: [[float] | None per class]},   # at IoU 0.5
             confidence: {confidence: [float], precision: [[...] | None per class],
                          recall: [...], f1: [...]}}   # Ultralytics' 1000-point grid

``odet eval`` adds (:class:`~odet_ros.evaluation.runner.ModelEvaluation`)::

    model: {name, file, backend, input_size: [h, w], inference_ms}
    dataset: {yaml, split, skipped_images: [path]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from odet_ros.dataset.reader import GroundTruth
from odet_ros.detection.types import Detections
from odet_ros.evaluation import coco, yolo
from odet_ros.evaluation.confusion import ConfusionMatrix, confusion_matrix
from odet_ros.evaluation.curves import (
    CONFIDENCE_GRID,
    ConfidenceCurves,
    OperatingPoint,
    at_grid_point,
    at_threshold,
    confidence_curves,
)
from odet_ros.evaluation.matching import (
    FlatBoxes,
    IouFunction,
    Matched,
    flatten_ground_truth,
    flatten_predictions,
)


class ScoringMode(Protocol):
    """What each mode's module (:mod:`.coco`, :mod:`.yolo`) provides."""

    IOU_THRESHOLDS: NDArray[np.floating]

    def match(
        self,
        preds: FlatBoxes,
        truths: FlatBoxes,
        num_classes: int,
        overlap: IouFunction | None = None,
    ) -> Matched: ...

    def average_precision(
        self, matched: Matched, gt_counts: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...


SCHEMA = "odet.evaluation/1"
MODES: dict[str, ScoringMode] = {"coco": coco, "ultralytics": yolo}
DEFAULT_CONF = 0.25  # the detector node's conf_threshold
CURVE_DECIMALS = 5


@dataclass(frozen=True)
class Summary:
    """Figures over all classes with ground truth (NaN where there is none)."""

    map50: float
    map75: float
    map50_95: float
    precision: float
    recall: float
    f1: float
    best_f1_conf: float
    precision_at_conf: float
    recall_at_conf: float
    f1_at_conf: float


@dataclass(frozen=True)
class PrCurve:
    """Precision (nc, R) against recall (R,) at IoU 0.5; NaN rows for classes without truth."""

    recall: NDArray[np.float64]
    precision: NDArray[np.float64]


@dataclass(frozen=True)
class Evaluation:
    """Everything ``odet eval`` reports for one model on one split."""

    mode: str
    conf: float
    names: list[str]
    images: int
    instances: NDArray[np.int64]  # (nc,) boxes of each class
    image_counts: NDArray[np.int64]  # (nc,) images holding each class
    ap: NDArray[np.float64]  # (nc, 10) per IoU threshold, NaN for classes without ground truth
    best: OperatingPoint  # at the best mean-F1 confidence
    at_conf: OperatingPoint  # at ``conf``
    confusion: ConfusionMatrix
    pr_curve: PrCurve
    confidence_curves: ConfidenceCurves

    @property
    def iou_thresholds(self) -> NDArray[np.floating]:
        return MODES[self.mode].IOU_THRESHOLDS

    @property
    def summary(self) -> Summary:
        scored = self.instances > 0
        if not scored.any():
            nan = float("nan")
            return Summary(nan, nan, nan, nan, nan, nan, self.best.conf, nan, nan, nan)
        ap = self.ap[scored]
        return Summary(
            map50=float(ap[:, 0].mean()),
            map75=float(ap[:, 5].mean()),
            map50_95=float(ap.mean()),
            precision=float(self.best.precision[scored].mean()),
            recall=float(self.best.recall[scored].mean()),
            f1=float(self.best.f1[scored].mean()),
            best_f1_conf=self.best.conf,
            precision_at_conf=float(self.at_conf.precision[scored].mean()),
            recall_at_conf=float(self.at_conf.recall[scored].mean()),
            f1_at_conf=float(self.at_conf.f1[scored].mean()),
        )

    def overall(self) -> dict[str, float | None]:
        """The summary as in the JSON ``overall`` object (None for NaN)."""
        return {key: _number(v) for key, v in vars(self.summary).items()}

    def class_rows(self) -> list[dict[str, Any]]:
        """One dict per class, as in the JSON ``classes`` list."""
        predicted = self.at_conf.predictions
        return [
            {
                "id": k,
                "name": name,
                "images": int(self.image_counts[k]),
                "instances": int(self.instances[k]),
                "predictions_at_conf": None if predicted is None else int(predicted[k]),
                "ap50": _number(self.ap[k, 0]),
                "ap75": _number(self.ap[k, 5]),
                "ap50_95": _number(self.ap[k].mean()),
                "precision": _number(self.best.precision[k]),
                "recall": _number(self.best.recall[k]),
                "f1": _number(self.best.f1[k]),
                "precision_at_conf": _number(self.at_conf.precision[k]),
                "recall_at_conf": _number(self.at_conf.recall[k]),
                "f1_at_conf": _number(self.at_conf.f1[k]),
            }
            for k, name in enumerate(self.names)
        ]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document described in this module's docstring."""
        curves = self.confidence_curves
        return {
            "schema": SCHEMA,
            "mode": self.mode,
            "conf": self.conf,
            "names": list(self.names),
            "images": self.images,
            "instances": int(self.instances.sum()),
            "iou_thresholds": [round(float(t), 4) for t in self.iou_thresholds],
            "overall": self.overall(),
            "classes": self.class_rows(),
            "confusion_matrix": {
                "conf": self.confusion.conf,
                "iou": self.confusion.iou,
                "labels": [*self.names, "background"],
                "matrix": self.confusion.matrix.tolist(),
            },
            "curves": {
                "pr": {
                    "recall": _curve(self.pr_curve.recall),
                    "precision": _curves(self.pr_curve.precision),
                },
                "confidence": {
                    "confidence": _curve(CONFIDENCE_GRID),
                    "precision": _curves(curves.precision),
                    "recall": _curves(curves.recall),
                    "f1": _curves(curves.f1),
                },
            },
        }


def evaluate_detections(
    predictions: Sequence[Detections],
    ground_truth: Sequence[GroundTruth | tuple[NDArray[np.floating], NDArray[np.integer]]],
    names: Sequence[str],
    *,
    mode: str = "coco",
    conf: float = DEFAULT_CONF,
) -> Evaluation:
    """Score one image's predictions against its ground truth, for every image.

    Give predictions as the detector returns them at a low threshold (Ultralytics and COCO both
    use conf 0.001, max_det 300): AP needs the low scores, and the figures at ``conf`` are read
    from the same matches.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if len(predictions) != len(ground_truth):
        raise ValueError(
            f"{len(predictions)} images of predictions but {len(ground_truth)} of ground truth"
        )
    preds = flatten_predictions(predictions)
    truths = flatten_ground_truth(ground_truth)
    return score_matches(preds, truths, names, len(ground_truth), mode=mode, conf=conf)


def score_matches(
    preds: FlatBoxes,
    truths: FlatBoxes,
    names: Sequence[str],
    images: int,
    *,
    mode: str = "coco",
    conf: float = DEFAULT_CONF,
    overlap: IouFunction | None = None,
) -> Evaluation:
    """The evaluation of flattened predictions and ground truth of ``images`` images, matched
    by box IoU or by ``overlap`` (mask IoU: :mod:`.masks`)."""
    num_classes = len(names)
    _check_classes(preds, truths, num_classes)
    protocol = MODES[mode]
    instances = np.bincount(truths.class_ids, minlength=num_classes)
    matched = protocol.match(preds, truths, num_classes, overlap)
    ap, precision50 = protocol.average_precision(matched, instances)
    hits = matched.correct[:, 0]
    curves = confidence_curves(matched.scores, matched.class_ids, hits, instances)
    confusion = (
        confusion_matrix(preds, truths, num_classes, conf)
        if overlap is None
        else confusion_matrix(preds, truths, num_classes, conf, overlap=overlap)
    )
    return Evaluation(
        mode=mode,
        conf=float(conf),
        names=list(names),
        images=images,
        instances=instances,
        image_counts=_images_per_class(truths, num_classes),
        ap=ap,
        best=at_grid_point(curves, curves.best_index()),
        at_conf=at_threshold(matched.scores, matched.class_ids, hits, instances, conf),
        confusion=confusion,
        pr_curve=PrCurve(coco.RECALL_GRID if mode == "coco" else CONFIDENCE_GRID, precision50),
        confidence_curves=curves,
    )


def _check_classes(preds: FlatBoxes, truths: FlatBoxes, num_classes: int) -> None:
    for what, boxes in (("predictions", preds), ("ground truth", truths)):
        bad = (boxes.class_ids < 0) | (boxes.class_ids >= num_classes)
        if bad.any():
            raise ValueError(
                f"{what}: class id {int(boxes.class_ids[bad][0])} outside 0..{num_classes - 1}"
            )


def _images_per_class(truths: FlatBoxes, num_classes: int) -> NDArray[np.int64]:
    pairs = np.unique(truths.image * num_classes + truths.class_ids)
    return np.bincount(pairs % num_classes, minlength=num_classes)


def _number(value: float) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def _curve(values: NDArray[np.float64]) -> list[float]:
    rounded: list[float] = np.round(values, CURVE_DECIMALS).tolist()
    return rounded


def _curves(rows: NDArray[np.float64]) -> list[list[float] | None]:
    return [None if np.isnan(row).all() else _curve(row) for row in rows]
