"""The model's own score statistics on a labelled split (:class:`ScoreStats`), measured from
the same predictions and matches as its metrics: what `odet train` and `odet export` record in
the bundle so that frame selection knows what "unsure" means for this model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from odet_ros.dataset.reader import GroundTruth
from odet_ros.detection.types import Detections
from odet_ros.evaluation import coco
from odet_ros.evaluation.matching import flatten_ground_truth, flatten_predictions
from odet_ros.selection.profile import QUANTILES, SCORE_FLOOR, ScoreStats


def score_stats(
    predictions: Sequence[Detections],
    truths: Sequence[GroundTruth],
    num_classes: int,
    best_f1_conf: float,
    split: str,
) -> ScoreStats:
    """Quantiles of the true and false positives' scores (COCO matching at IoU 0.5, boxes from
    SCORE_FLOOR), of each image's surest box and of the boxes per image at ``best_f1_conf``."""
    matched = coco.match(
        flatten_predictions(predictions), flatten_ground_truth(truths), num_classes
    )
    kept = matched.scores >= SCORE_FLOOR
    hits = matched.correct[:, 0]
    top = [float(p.scores.max()) if len(p) else 0.0 for p in predictions]
    boxes = [int((p.scores >= best_f1_conf).sum()) for p in predictions]
    return ScoreStats(
        split=split,
        images=len(predictions),
        best_f1_conf=float(best_f1_conf),
        true_positives=_quantiles(matched.scores[kept & hits]),
        false_positives=_quantiles(matched.scores[kept & ~hits]),
        top_score=_quantiles(np.array(top)),
        boxes_per_image=_quantiles(np.array(boxes, np.float64)),
    )


def _quantiles(values: NDArray[np.floating]) -> tuple[float, ...]:
    """The values' quantiles at QUANTILES (zeros when there are none)."""
    if not len(values):
        return tuple(0.0 for _ in QUANTILES)
    return tuple(float(v) for v in np.quantile(values.astype(np.float64), QUANTILES))
