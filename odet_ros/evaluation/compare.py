"""Two models on the same split side by side: what changed, overall and per class.

The usual pair is a ``.pt`` and its export (``.onnx``, int8 ``.tflite``): the differences are
the accuracy the robot loses to the export. Differences are B minus A.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from odet_ros.evaluation.runner import ModelEvaluation

SCHEMA = "odet.comparison/1"
# (JSON key, label) of the figures compared, overall and per class
FIGURES = (
    ("map50_95", "mAP50-95"),
    ("map50", "mAP50"),
    ("precision", "P"),
    ("recall", "R"),
    ("f1", "F1"),
    ("precision_at_conf", "P@conf"),
    ("recall_at_conf", "R@conf"),
    ("f1_at_conf", "F1@conf"),
)
Figure = float | None  # None where undefined (no ground truth)
CLASS_KEYS = {"map50_95": "ap50_95", "map50": "ap50"}  # overall key -> per-class key


@dataclass(frozen=True)
class Comparison:
    """Model A against model B."""

    a: ModelEvaluation
    b: ModelEvaluation

    def overall(self) -> list[tuple[str, str, Figure, Figure, Figure]]:
        """(key, label, A, B, B - A) for each figure."""
        first, second = self.a.evaluation.overall(), self.b.evaluation.overall()
        return [
            (key, label, first[key], second[key], _difference(first[key], second[key]))
            for key, label in FIGURES
        ]

    def per_class(self, key: str = "map50_95") -> list[tuple[str, Figure, Figure, Figure]]:
        """(class name, A, B, B - A) of one figure for each class."""
        column = CLASS_KEYS.get(key, key)
        rows_a, rows_b = self.a.evaluation.class_rows(), self.b.evaluation.class_rows()
        return [
            (ra["name"], ra[column], rb[column], _difference(ra[column], rb[column]))
            for ra, rb in zip(rows_a, rows_b, strict=True)
        ]

    def to_dict(self) -> dict[str, Any]:
        """Both evaluations in full and their differences."""
        rows_a, rows_b = self.a.evaluation.class_rows(), self.b.evaluation.class_rows()
        class_keys = [CLASS_KEYS.get(key, key) for key, _ in FIGURES]
        return {
            "schema": SCHEMA,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "difference": {
                "overall": {key: delta for key, _, _, _, delta in self.overall()},
                "classes": [
                    {
                        "id": ra["id"],
                        "name": ra["name"],
                        **{k: _difference(ra[k], rb[k]) for k in class_keys},
                    }
                    for ra, rb in zip(rows_a, rows_b, strict=True)
                ],
            },
        }


def compare(a: ModelEvaluation, b: ModelEvaluation) -> Comparison:
    """Pair two evaluations of the same split and classes."""
    if (a.dataset, a.split) != (b.dataset, b.split):
        raise ValueError(
            f"cannot compare evaluations of different splits: {a.dataset} {a.split},"
            f" {b.dataset} {b.split}"
        )
    if a.evaluation.names != b.evaluation.names or a.evaluation.mode != b.evaluation.mode:
        raise ValueError("cannot compare evaluations with different classes or modes")
    return Comparison(a, b)


def _difference(a: Figure, b: Figure) -> Figure:
    return None if a is None or b is None else b - a
