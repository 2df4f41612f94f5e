"""Training curves from the ``results.csv`` Ultralytics writes in a run folder, drawn for people:
two panels with labelled axes at a legible size (Ultralytics' own ``results.png`` is a grid of ten
small panels that becomes unreadable when shown at page width).

Left, the three losses (box, classification, distribution focal) on the train split and on val;
right, what val scores each epoch (precision, recall, mAP50, mAP50-95, in Ultralytics' own mode,
which picks the best epoch).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from odet_ros.evaluation.plots import new_figure, plotting_available, styled, to_png
from odet_ros.training.errors import TrainingError

RESULTS_FILE = "results.csv"
LOSSES = (("box", "box_loss"), ("class", "cls_loss"), ("dfl", "dfl_loss"))
METRICS = (
    ("precision", "metrics/precision(B)"),
    ("recall", "metrics/recall(B)"),
    ("mAP50", "metrics/mAP50(B)"),
    ("mAP50-95", "metrics/mAP50-95(B)"),
)


@dataclass(frozen=True)
class TrainingCurves:
    """Columns of results.csv by their (stripped) header, one value per epoch."""

    source: Path
    columns: dict[str, NDArray[np.float64]]

    @property
    def epochs(self) -> NDArray[np.float64]:
        return self.columns["epoch"]

    def column(self, name: str) -> NDArray[np.float64] | None:
        return self.columns.get(name)


def read_results(path: Path) -> TrainingCurves:
    """results.csv as numbers; TrainingError naming the file and line for anything else."""
    try:
        with path.open(newline="") as stream:
            rows = list(csv.reader(stream))
    except OSError as error:
        raise TrainingError(f"{path}: cannot read the training results: {error}") from error
    if len(rows) < 2:
        raise TrainingError(f"{path}: no epoch in the training results")
    header = [name.strip() for name in rows[0]]
    if "epoch" not in header:
        raise TrainingError(f"{path}: no 'epoch' column in the header {rows[0]}")
    values = []
    for number, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise TrainingError(f"{path}, line {number}: {len(row)} values, {len(header)} columns")
        try:
            values.append([float(cell) for cell in row])
        except ValueError as error:
            raise TrainingError(f"{path}, line {number}: not a number: {error}") from error
    table = np.array(values, np.float64)
    return TrainingCurves(path, {name: table[:, i] for i, name in enumerate(header)})


def training_curves_png(curves: TrainingCurves, title: str = "") -> bytes | None:
    """The two panels as PNG bytes; None without matplotlib."""
    if not plotting_available():
        return None
    from matplotlib.lines import Line2D

    with styled():
        figure = new_figure(12.8, 4.8)
        losses, metrics = figure.subplots(1, 2)
        epochs = curves.epochs
        for index, (_, suffix) in enumerate(LOSSES):
            for split, style in (("train", "-"), ("val", "--")):
                values = curves.column(f"{split}/{suffix}")
                if values is not None:
                    losses.plot(epochs, values, linestyle=style, color=f"C{index}", linewidth=2)
        handles = [Line2D([], [], color=f"C{i}", linewidth=3, label=f"{name} loss")
                   for i, (name, _) in enumerate(LOSSES)]  # fmt: skip
        handles += [
            Line2D([], [], color="black", linestyle="-", label="on train"),
            Line2D([], [], color="black", linestyle="--", label="on val"),
        ]
        losses.legend(handles=handles, loc="upper right")
        losses.set_xlabel("epoch")
        losses.set_ylabel("loss")
        losses.set_title("losses: train split and val split")
        for index, (label, column) in enumerate(METRICS):
            values = curves.column(column)
            if values is not None:
                metrics.plot(epochs, values, marker="o", markersize=4, linewidth=2,
                             color=f"C{index + 3}", label=label)  # fmt: skip
        metrics.set_ylim(0, 1.02)
        metrics.set_xlabel("epoch")
        metrics.set_ylabel("score on the val split")
        metrics.set_title("val split each epoch (Ultralytics' mAP)")
        metrics.legend(loc="upper left")
        for axes in (losses, metrics):
            axes.grid(alpha=0.3)
        if title:
            figure.suptitle(title)
        return to_png(figure)
