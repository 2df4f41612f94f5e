"""PNG plots of an evaluation: the PR curve, the F1-confidence curve, the confusion matrix, and
for 3D detections a top-down view of estimated against true positions.

Drawn with matplotlib's object API (no pyplot, no display needed). matplotlib is optional: a robot
install may lack it, and then :func:`render_plots` returns nothing and says why once.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import logging
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from odet_ros.evaluation.curves import CONFIDENCE_GRID, smooth
from odet_ros.evaluation.metrics import Evaluation
from odet_ros.evaluation.positions import RELATIVE_TOLERANCE, PositionReport

if TYPE_CHECKING:  # matplotlib is optional at run time
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

PR_CURVE = "pr_curve.png"
F1_CURVE = "f1_curve.png"
CONFUSION = "confusion_matrix.png"
LEGEND_CLASSES = 20  # per-class lines get a legend entry up to this many classes
ANNOTATED_CELLS = 30  # counts are written in the matrix cells up to this many classes
DPI = 110


def plotting_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def render_plots(evaluation: Evaluation, title: str = "") -> dict[str, bytes]:
    """PNG bytes by file name; empty, with a warning, where matplotlib is not installed."""
    if not plotting_available():
        _warn_no_plots()
        return {}
    return {
        PR_CURVE: _png(_pr_curve(evaluation, title)),
        F1_CURVE: _png(_f1_curve(evaluation, title)),
        CONFUSION: _png(_confusion(evaluation, title)),
    }


def positions_png(report: PositionReport, names: list[str]) -> bytes | None:
    """Top-down (x right, z forward, the camera at the origin) true and estimated positions of
    the frame with the most matches, beside every match's error against its range; None
    without matplotlib or matches."""
    if not plotting_available():
        _warn_no_plots()
        return None
    if not report.matches:
        return None
    figure = _figure(11.0, 4.8)
    top, errors = figure.subplots(1, 2)
    frames = [m.frame for m in report.matches]
    shown = max(set(frames), key=frames.count)
    colours = [f"C{i}" for i in range(10)]
    for match in (m for m in report.matches if m.frame == shown):
        colour = colours[match.class_id % len(colours)]
        (tx, _, tz), (ex, _, ez) = match.truth, match.estimate
        top.plot([tx, ex], [tz, ez], color=colour, linewidth=1)
        top.scatter([tx], [tz], marker="o", facecolors="none", edgecolors=colour, s=80)
        top.scatter([ex], [ez], marker="x", color=colour, s=50)
    top.scatter([0], [0], marker="^", color="black", s=60)
    top.set_aspect("equal", adjustable="datalim")
    top.set_xlabel("x, right (m)")
    top.set_ylabel("z, forward (m)")
    top.set_title("one frame from above: o true, x estimated")
    for class_id in sorted({m.class_id for m in report.matches}):
        top.scatter([], [], color=colours[class_id % len(colours)], label=names[class_id])
    top.legend(loc="upper left", fontsize="small")
    ranges = np.array([m.truth[2] for m in report.matches])
    distances = np.array([m.error for m in report.matches])
    errors.scatter(ranges, distances * 100, s=6, alpha=0.5)
    span = np.linspace(0, ranges.max() * 1.05, 20)
    errors.plot(span, span * RELATIVE_TOLERANCE * 100, color="grey", linestyle="--",
                label=f"{RELATIVE_TOLERANCE:.0%} of the range")  # fmt: skip
    errors.set_xlabel("range (m)")
    errors.set_ylabel("position error (cm)")
    errors.set_title(f"every match: median {np.median(distances) * 100:.1f} cm")
    errors.legend(loc="upper left", fontsize="small")
    return _png(figure)


@functools.cache
def _warn_no_plots() -> None:
    """Once per process, not once per model."""
    log.warning("matplotlib is not installed: no PNG plots (pip install matplotlib)")


def _figure(width: float = 7.0, height: float = 5.0) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _scored(evaluation: Evaluation) -> NDArray[np.intp]:
    return np.flatnonzero(evaluation.instances > 0)


def _pr_curve(evaluation: Evaluation, title: str) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    curve, scored = evaluation.pr_curve, _scored(evaluation)
    labelled = len(scored) <= LEGEND_CLASSES
    for k in scored:
        label = f"{evaluation.names[k]} {evaluation.ap[k, 0]:.3f}" if labelled else None
        axes.plot(curve.recall, curve.precision[k], linewidth=1, label=label)
    if len(scored):
        mean = curve.precision[scored].mean(0)
        summary = evaluation.summary
        axes.plot(
            curve.recall, mean, color="blue", linewidth=3, label=f"all {summary.map50:.3f} mAP50"
        )
        axes.legend(loc="lower left", fontsize="small")
    _limits(axes, "Recall", "Precision", f"{title} precision-recall (IoU 0.5)")
    return figure


def _f1_curve(evaluation: Evaluation, title: str) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    f1, scored = evaluation.confidence_curves.f1, _scored(evaluation)
    labelled = len(scored) <= LEGEND_CLASSES
    for k in scored:
        axes.plot(
            CONFIDENCE_GRID,
            f1[k],
            linewidth=1,
            label=evaluation.names[k] if labelled else None,
        )
    if len(scored):
        mean = smooth(f1[scored].mean(0), 0.1)
        best = evaluation.best
        axes.plot(
            CONFIDENCE_GRID,
            mean,
            color="blue",
            linewidth=3,
            label=f"all {mean.max():.2f} at {best.conf:.3f}",
        )
        axes.axvline(evaluation.conf, color="grey", linestyle="--", label=f"conf {evaluation.conf}")
        axes.legend(loc="lower left", fontsize="small")
    _limits(axes, "Confidence", "F1", f"{title} F1-confidence (IoU 0.5)")
    return figure


def _confusion(evaluation: Evaluation, title: str) -> Figure:
    matrix = evaluation.confusion.matrix
    labels = [*evaluation.names, "background"]
    size = len(labels)
    side = min(4 + 0.45 * size, 16)
    figure = _figure(side + 1.5, side)
    axes = figure.add_subplot()
    column_share = matrix / np.maximum(matrix.sum(0, keepdims=True), 1)
    image = axes.imshow(column_share, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="none")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    if size <= ANNOTATED_CELLS:
        for (row, col), count in np.ndenumerate(matrix):
            if count:
                shade = "white" if column_share[row, col] > 0.5 else "black"
                axes.text(col, row, str(count), ha="center", va="center", color=shade)
        axes.set_xticks(range(size), labels, rotation=90)
        axes.set_yticks(range(size), labels)
    axes.set_xlabel("True")
    axes.set_ylabel("Predicted")
    confusion = evaluation.confusion
    axes.set_title(f"{title} confusion matrix (conf > {confusion.conf:g}, IoU > {confusion.iou:g})")
    return figure


def _limits(axes: Axes, xlabel: str, ylabel: str, title: str) -> None:
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title.strip())
    axes.grid(alpha=0.3)
