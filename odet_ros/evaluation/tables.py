"""The result tables, built once and rendered as text (the CLI) or HTML (the report page)."""

from __future__ import annotations

from dataclasses import dataclass

from odet_ros.evaluation.compare import FIGURES, Comparison, Figure
from odet_ros.evaluation.metrics import Evaluation

MISSING = "-"
OVERALL_KEYS: tuple[str, ...] = ("precision", "recall", "f1", "map50", "map50_95")
OVERALL_KEYS += ("precision_at_conf", "recall_at_conf", "f1_at_conf")
CLASS_KEYS: tuple[str, ...] = ("precision", "recall", "f1", "ap50", "ap50_95")
CLASS_KEYS += ("precision_at_conf", "recall_at_conf", "f1_at_conf")


@dataclass(frozen=True)
class Table:
    """Rows of text cells under headers; the first column is a label, the others numbers."""

    title: str
    headers: list[str]
    rows: list[list[str]]

    def to_text(self) -> str:
        """Aligned columns, the label column left-aligned, the others right-aligned."""
        cells = [self.headers, *self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.headers))]
        lines = [self.title] if self.title else []
        for row in cells:
            first = row[0].ljust(widths[0])
            rest = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
            lines.append("  ".join([first, *rest]).rstrip())
        return "\n".join(lines)


def value(figure: Figure) -> str:
    return MISSING if figure is None else f"{figure:.3f}"


def change(figure: Figure) -> str:
    return MISSING if figure is None else f"{figure:+.3f}"


def results_table(evaluation: Evaluation, title: str = "") -> Table:
    """Per class and overall (``all``), as ``yolo val`` lists them, plus the figures at conf."""
    conf = f"{evaluation.conf:g}"
    headers = ["class", "images", "instances", "P", "R", "F1", "mAP50", "mAP50-95"]
    headers += [f"P@{conf}", f"R@{conf}", f"F1@{conf}"]
    overall = evaluation.overall()
    rows = [
        ["all", str(evaluation.images), str(int(evaluation.instances.sum()))]
        + [value(overall[key]) for key in OVERALL_KEYS]
    ]
    for row in evaluation.class_rows():
        rows.append(
            [row["name"], str(row["images"]), str(row["instances"])]
            + [value(row[key]) for key in CLASS_KEYS]
        )
    return Table(title, headers, rows)


def comparison_table(comparison: Comparison) -> Table:
    """The overall figures of A and B and their differences."""
    rows = [[label, value(a), value(b), change(d)] for _, label, a, b, d in comparison.overall()]
    return Table("overall", ["figure", "A", "B", "B-A"], rows)


def class_comparison_table(comparison: Comparison, key: str = "map50_95") -> Table:
    """One figure of A and B for each class, and the differences."""
    label = dict(FIGURES).get(key, key)
    rows = [[name, value(a), value(b), change(d)] for name, a, b, d in comparison.per_class(key)]
    return Table(f"{label} per class", ["class", "A", "B", "B-A"], rows)


def confusion_table(evaluation: Evaluation) -> Table:
    """The confusion matrix counts, a row per predicted class, a column per true class."""
    labels = [*evaluation.names, "background"]
    matrix = evaluation.confusion.matrix
    rows = [[f"{label}", *(str(n) for n in matrix[i])] for i, label in enumerate(labels)]
    return Table(
        f"confusion matrix (rows predicted, columns true; conf > {evaluation.confusion.conf:g},"
        f" IoU > {evaluation.confusion.iou:g})",
        ["predicted \\ true", *labels],
        rows,
    )
