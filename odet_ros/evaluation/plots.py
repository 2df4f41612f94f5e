"""PNG plots of an evaluation: the PR curve, the F1-confidence curve, the confusion matrix, and
for 3D detections a top-down view of estimated against true positions.

Drawn with matplotlib's object API (no pyplot, no display needed), at a size and font that stay
legible at half a page's width, each class in the colour its boxes have in annotated images.
matplotlib is optional: a robot install may lack it, and then :func:`render_plots` returns nothing
and says why once. :func:`new_figure` and :func:`to_png` serve the other reports' plots.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from odet_ros.detection.drawing import class_color
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
FONT_SIZE = 12.0  # points: shown at half a page (500-600 px of a 704 px image), 13 px or more
WIDTH, HEIGHT = 6.4, 4.8  # inches


def plotting_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def render_plots(evaluation: Evaluation, title: str = "") -> dict[str, bytes]:
    """PNG bytes by file name; empty, with a warning, where matplotlib is not installed.
    ``title`` names the model in each plot's title."""
    if not plotting_available():
        _warn_no_plots()
        return {}
    with styled():
        return {
            PR_CURVE: to_png(_pr_curve(evaluation, title)),
            F1_CURVE: to_png(_f1_curve(evaluation, title)),
            CONFUSION: to_png(_confusion(evaluation, title)),
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
    with styled():
        figure = new_figure(2 * WIDTH, HEIGHT)
        top, errors = figure.subplots(1, 2)
        _top_down(top, report, names)
        ranges = np.array([m.truth[2] for m in report.matches])
        distances = np.array([m.error for m in report.matches])
        errors.scatter(ranges, distances * 100, s=8, alpha=0.5, color="black", label="a match")
        span = np.linspace(0, ranges.max() * 1.05, 20)
        errors.plot(span, span * RELATIVE_TOLERANCE * 100, color="grey", linestyle="--",
                    label=f"{RELATIVE_TOLERANCE:.0%} of the range")  # fmt: skip
        errors.set_xlabel("range (m)")
        errors.set_ylabel("position error (cm)")
        errors.set_title(f"every match: median {np.median(distances) * 100:.1f} cm")
        errors.legend(loc="upper left")
        return to_png(figure)


def _top_down(axes: Axes, report: PositionReport, names: list[str]) -> None:
    """The frame with the most matches from above; the legend shows the markers as drawn."""
    from matplotlib.lines import Line2D

    frames = [m.frame for m in report.matches]
    shown = max(set(frames), key=frames.count)
    for match in (m for m in report.matches if m.frame == shown):
        colour = plot_color(match.class_id)
        (tx, _, tz), (ex, _, ez) = match.truth, match.estimate
        axes.plot([tx, ex], [tz, ez], color=colour, linewidth=1)
        axes.scatter([tx], [tz], marker="o", facecolors="none", edgecolors=colour, s=80)
        axes.scatter([ex], [ez], marker="x", color=colour, s=50)
    axes.scatter([0], [0], marker="^", color="black", s=60)
    axes.set_aspect("equal", adjustable="datalim")
    axes.set_xlabel("x, right (m)")
    axes.set_ylabel("z, forward (m)")
    axes.set_title("one frame from above")
    handles = [
        Line2D([], [], marker="o", markerfacecolor="none", markeredgecolor="black",
               linestyle="none", markersize=9, label="true position"),
        Line2D([], [], marker="x", color="black", linestyle="none", markersize=8,
               label="estimate"),
        Line2D([], [], marker="^", color="black", linestyle="none", markersize=8,
               label="camera"),
        *(Line2D([], [], color=plot_color(k), linewidth=3, label=names[k])
          for k in sorted({m.class_id for m in report.matches})),
    ]  # fmt: skip
    axes.legend(handles=handles, loc="upper left")


def plot_color(class_id: int) -> tuple[float, float, float]:
    """A class's colour as matplotlib takes it: the colour of its boxes in annotated images."""
    red, green, blue = class_color(class_id, rgb=True)
    return red / 255, green / 255, blue / 255


@contextlib.contextmanager
def styled() -> Iterator[None]:
    """The fonts of odet's plots, for figures made and saved inside."""
    import matplotlib

    with matplotlib.rc_context(
        {"font.size": FONT_SIZE, "axes.titlesize": FONT_SIZE, "legend.fontsize": FONT_SIZE - 2}
    ):
        yield


@functools.cache
def _warn_no_plots() -> None:
    """Once per process, not once per model."""
    log.warning("matplotlib is not installed: no PNG plots (pip install matplotlib)")


def new_figure(width: float = WIDTH, height: float = HEIGHT) -> Figure:
    """A figure with constrained layout, made without pyplot (no display, no global state)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _scored(evaluation: Evaluation) -> NDArray[np.intp]:
    return np.flatnonzero(evaluation.instances > 0)


def _pr_curve(evaluation: Evaluation, title: str) -> Figure:
    figure = new_figure()
    axes = figure.add_subplot()
    curve, scored = evaluation.pr_curve, _scored(evaluation)
    labelled = len(scored) <= LEGEND_CLASSES
    for k in scored:
        label = f"{evaluation.names[k]} AP50 {evaluation.ap[k, 0]:.3f}" if labelled else None
        axes.plot(curve.recall, curve.precision[k], linewidth=1.5, color=plot_color(k), label=label)
    if len(scored):
        mean = curve.precision[scored].mean(0)
        summary = evaluation.summary
        axes.plot(curve.recall, mean, color="black", linewidth=3,
                  label=f"all classes mAP50 {summary.map50:.3f}")  # fmt: skip
        axes.legend(loc="lower left")
    _limits(axes, "recall", "precision", _titled(title, "precision-recall at IoU 0.5"))
    return figure


def _f1_curve(evaluation: Evaluation, title: str) -> Figure:
    figure = new_figure()
    axes = figure.add_subplot()
    f1, scored = evaluation.confidence_curves.f1, _scored(evaluation)
    labelled = len(scored) <= LEGEND_CLASSES
    for k in scored:
        label = evaluation.names[k] if labelled else None
        axes.plot(CONFIDENCE_GRID, f1[k], linewidth=1.5, color=plot_color(k), label=label)
    if len(scored):
        mean = smooth(f1[scored].mean(0), 0.1)
        best = evaluation.best
        axes.plot(CONFIDENCE_GRID, mean, color="black", linewidth=3,
                  label=f"all classes: best F1 {mean.max():.2f} at {best.conf:.2f}")  # fmt: skip
        axes.axvline(evaluation.conf, color="grey", linestyle="--",
                     label=f"conf_threshold {evaluation.conf:g}")  # fmt: skip
        axes.legend(loc="lower left")
    _limits(axes, "confidence", "F1", _titled(title, "F1 against confidence at IoU 0.5"))
    return figure


def _confusion(evaluation: Evaluation, title: str) -> Figure:
    matrix = evaluation.confusion.matrix
    labels = [*evaluation.names, "background"]
    size = len(labels)
    side = min(4 + 0.45 * size, 16)
    figure = new_figure(max(side + 1.5, WIDTH), max(side, HEIGHT))
    axes = figure.add_subplot()
    column_share = matrix / np.maximum(matrix.sum(0, keepdims=True), 1)
    image = axes.imshow(column_share, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="none")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    if size <= ANNOTATED_CELLS:
        for (row, col), count in np.ndenumerate(matrix):
            if count:
                shade = "white" if column_share[row, col] > 0.5 else "black"
                axes.text(col, row, str(count), ha="center", va="center", color=shade)
        axes.set_xticks(range(size), labels, rotation=30, ha="right")
        axes.set_yticks(range(size), labels)
    axes.set_xlabel("true class")
    axes.set_ylabel("predicted class")
    confusion = evaluation.confusion
    what = f"confusion matrix, conf > {confusion.conf:g}, IoU > {confusion.iou:g}"
    axes.set_title(_titled(title, what))
    return figure


def _titled(model: str, what: str) -> str:
    """The model's name above what is plotted: two short lines fit a half-page plot."""
    if not model:
        return what
    return f"{model}\n{what}"


def _limits(axes: Axes, xlabel: str, ylabel: str, title: str) -> None:
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
