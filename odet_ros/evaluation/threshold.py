"""The confidence threshold an evaluation recommends for the robot: its best-F1 confidence.

An evaluation reads precision, recall and F1 at two confidences: the one where the mean F1 over
the classes peaks (``best_f1_conf``, what ``yolo val`` reports its P and R at) and the detector's
``conf_threshold`` (0.25 unless set). :func:`advise` turns the evaluation's overall figures, as
:meth:`Evaluation.overall` gives them and ``metrics.json`` stores them, into the value to give the
node, so the report, a bundle or the CLI recommend the same number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from odet_ros.detection.detector import recommended_conf


@dataclass(frozen=True)
class ThresholdAdvice:
    """The recommended ``conf_threshold`` and the figures it rests on: means over the classes
    with ground truth at the best-F1 confidence and at the evaluation's own threshold."""

    conf_threshold: float
    best_f1_conf: float
    f1: float
    precision: float
    recall: float
    current_conf: float  # the evaluation's own threshold
    f1_at_current: float
    precision_at_current: float
    recall_at_current: float

    def line(self) -> str:
        """One line for the terminal: the value to give the node, and what it changes."""
        return (
            f"recommended conf_threshold {self.conf_threshold:g} (best-F1 confidence"
            f" {self.best_f1_conf:.3f}: F1 {self.f1:.3f}, P {self.precision:.3f}, R"
            f" {self.recall:.3f}; at {self.current_conf:g}: F1 {self.f1_at_current:.3f})"
        )


def advise(overall: Mapping[str, float | None], current_conf: float) -> ThresholdAdvice | None:
    """The advice from an evaluation's overall figures and the threshold they were read at
    (``conf`` in metrics.json); None where the split had no ground truth to score."""
    keys = ("best_f1_conf", "f1", "precision", "recall", "f1_at_conf", "precision_at_conf",
            "recall_at_conf")  # fmt: skip
    values = [float(value) for key in keys if (value := overall.get(key)) is not None]
    if len(values) != len(keys):
        return None
    best, f1, precision, recall, f1_now, precision_now, recall_now = values
    return ThresholdAdvice(
        conf_threshold=recommended_conf(best),
        best_f1_conf=best,
        f1=f1,
        precision=precision,
        recall=recall,
        current_conf=current_conf,
        f1_at_current=f1_now,
        precision_at_current=precision_now,
        recall_at_current=recall_now,
    )
