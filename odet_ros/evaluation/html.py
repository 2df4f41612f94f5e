"""One self-contained HTML page per report: tables and plots, images embedded as base64."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence

from odet_ros.evaluation.compare import Comparison
from odet_ros.evaluation.runner import ModelEvaluation
from odet_ros.evaluation.tables import (
    Table,
    class_comparison_table,
    comparison_table,
    confusion_table,
    results_table,
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
.worse { color: #b00020; } .better { color: #00691c; }
img { box-sizing: border-box; max-width: 48%; margin: 0.5em 1% 0 0; border: 1px solid #ddd; }
.meta { color: #555; }
"""


def evaluation_page(run: ModelEvaluation, plots: Mapping[str, bytes]) -> str:
    """The report of one model: identity, results per class, confusion matrix, plots."""
    evaluation = run.evaluation
    body = [
        f"<h1>{_text(run.model)} on {_text(run.split)}</h1>",
        _meta(run),
        _table(results_table(evaluation, "results")),
        *([] if run.masks is None else [_table(results_table(run.masks, "masks (COCO segm)"))]),
        _table(confusion_table(evaluation)),
        _images(plots),
    ]
    return _page(f"odet eval: {run.model}", body)


def comparison_page(
    comparison: Comparison, plots_a: Mapping[str, bytes], plots_b: Mapping[str, bytes]
) -> str:
    """Two models side by side: the differences first, then each model's own results."""
    a, b = comparison.a, comparison.b
    body = [
        f"<h1>{_text(a.model)} (A) against {_text(b.model)} (B) on {_text(a.split)}</h1>",
        _table(comparison_table(comparison), deltas=True),
        _table(class_comparison_table(comparison, "map50_95"), deltas=True),
        _table(class_comparison_table(comparison, "recall_at_conf"), deltas=True),
    ]
    for tag, run, plots in (("A", a, plots_a), ("B", b, plots_b)):
        body += [
            f"<h2>{tag}: {_text(run.model)}</h2>",
            _meta(run),
            _table(results_table(run.evaluation, "results")),
            _table(confusion_table(run.evaluation)),
            _images(plots),
        ]
    return _page(f"odet eval: {a.model} vs {b.model}", body)


def _page(title: str, body: Sequence[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{_text(title)}</title><style>{STYLE}</style></head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def _meta(run: ModelEvaluation) -> str:
    evaluation = run.evaluation
    height, width = run.input_size
    facts = [
        f"model file {run.model_file}",
        f"backend {run.backend}, input {width}x{height}, {run.inference_ms:.1f} ms per image",
        f"dataset {run.dataset}, split {run.split}, {evaluation.images} images",
        f"{evaluation.mode} mode; P, R, F1 at the best-F1 confidence {evaluation.best.conf:.3f};"
        f" @{evaluation.conf:g}: at the robot's threshold",
    ]
    if run.skipped:
        facts.append(f"{len(run.skipped)} unreadable images left out")
    return "".join(f'<p class="meta">{_text(fact)}</p>' for fact in facts)


def _table(table: Table, deltas: bool = False) -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in table.headers)
    rows = []
    for row in table.rows:
        cells = [f"<td>{_text(cell)}</td>" for cell in row]
        change = _signed(row[-1]) if deltas else 0.0
        if change:
            style = "better" if change > 0 else "worse"
            cells[-1] = f'<td class="{style}">{_text(row[-1])}</td>'
        rows.append(f"<tr>{''.join(cells)}</tr>")
    caption = f"<h3>{_text(table.title)}</h3>" if table.title else ""
    return f"{caption}<table><tr>{head}</tr>{''.join(rows)}</table>"


def _signed(cell: str) -> float:
    """The number in a difference cell, 0 for none ("-")."""
    try:
        return float(cell)
    except ValueError:
        return 0.0


def _images(plots: Mapping[str, bytes]) -> str:
    if not plots:
        return '<p class="meta">no plots: matplotlib is not installed</p>'
    return "".join(
        f'<img alt="{_text(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(data).decode("ascii")}">'
        for name, data in plots.items()
    )


def _text(value: object) -> str:
    return html.escape(str(value))
