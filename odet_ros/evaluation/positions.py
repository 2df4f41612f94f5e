"""How far 3D detections are from where the objects are: `odet detect --depth-topic` output
against per-frame ground truth (the sample's ``ground_truth_3d.json``).

Detections and ground-truth objects of a frame are matched by box (IoU >= 0.5, the same class,
greedily best first); each match's error is the distance between the two centres, also relative
to the object's range, the figure an RGB-D camera's accuracy scales with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from odet_ros.evaluation.matching import coco_iou

MATCH_IOU = 0.5
RELATIVE_TOLERANCE = 0.03  # 3% of the range: an RGB-D camera's accuracy at a few metres


@dataclass(frozen=True)
class PositionMatch:
    """One located detection matched to its ground-truth object (camera optical frame, m)."""

    frame: int
    class_id: int
    estimate: tuple[float, float, float]
    truth: tuple[float, float, float]

    @property
    def error(self) -> float:
        return float(np.linalg.norm(np.subtract(self.estimate, self.truth)))

    @property
    def relative_error(self) -> float:
        return self.error / max(self.truth[2], 1e-6)


@dataclass(frozen=True)
class PositionReport:
    """The matches and what they add up to; ``unmatched`` counts located detections without a
    ground-truth object of their class at IoU 0.5."""

    matches: list[PositionMatch]
    unmatched: int

    def figures(self) -> dict[str, float]:
        errors = np.array([m.error for m in self.matches])
        relative = np.array([m.relative_error for m in self.matches])
        if not len(errors):
            return {"matched": 0.0, "unmatched": float(self.unmatched)}
        return {
            "matched": float(len(errors)),
            "unmatched": float(self.unmatched),
            "median_error_m": float(np.median(errors)),
            "p90_error_m": float(np.percentile(errors, 90)),
            "median_relative_error": float(np.median(relative)),
            "within_3_percent": float(np.mean(relative <= RELATIVE_TOLERANCE)),
        }


def evaluate_positions(
    detections: Iterable[Mapping[str, Any]], truth: Sequence[Mapping[str, Any]]
) -> PositionReport:
    """``detections``: detections.jsonl records (frame = stamp in ns); ``truth``: the
    ground-truth frames (``stamp_ns`` and ``objects`` with ``class_id``, ``box``,
    ``position_m``)."""
    by_stamp = {int(frame["stamp_ns"]): frame["objects"] for frame in truth}
    matches: list[PositionMatch] = []
    unmatched = 0
    for record in detections:
        located = [d for d in record["detections"] if "position_m" in d]
        objects = by_stamp.get(int(record["frame"]), [])
        if not located:
            continue
        if not objects:
            unmatched += len(located)
            continue
        found, missed = _match_frame(int(record["frame"]), located, objects)
        matches += found
        unmatched += missed
    return PositionReport(matches, unmatched)


def _match_frame(
    frame: int, located: list[Mapping[str, Any]], objects: list[Mapping[str, Any]]
) -> tuple[list[PositionMatch], int]:
    boxes: NDArray[np.float64] = np.array([d["xyxy"] for d in located], np.float64)
    truth_boxes: NDArray[np.float64] = np.array([o["box"] for o in objects], np.float64)
    iou = coco_iou(boxes, truth_boxes)
    same_class = np.equal.outer([d["class_id"] for d in located], [o["class_id"] for o in objects])
    iou = np.where(same_class, iou, 0.0)
    found: list[PositionMatch] = []
    taken: set[int] = set()
    for i in np.argsort([-d["score"] for d in located]).tolist():
        candidates = [(iou[i, j], j) for j in range(len(objects)) if j not in taken]
        best, j = max(candidates, default=(0.0, -1))
        if best < MATCH_IOU:
            continue
        taken.add(j)
        found.append(
            PositionMatch(
                frame=frame,
                class_id=int(located[i]["class_id"]),
                estimate=_point(located[i]["position_m"]),
                truth=_point(objects[j]["position_m"]),
            )
        )
    return found, len(located) - len(found)


def _point(values: Sequence[float]) -> tuple[float, float, float]:
    x, y, z = (float(v) for v in values)
    return x, y, z
