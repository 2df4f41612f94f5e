"""Write an evaluation to a folder: ``metrics.json``, the PNG plots and ``report.html``.

A comparison writes ``comparison.json`` and ``report.html`` at the top and each model's own
report under ``a/`` and ``b/``. Every file is written under a temporary name and renamed, so a
crash never leaves half a report over an earlier one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from odet_ros.atomic import atomic_write
from odet_ros.evaluation.compare import Comparison
from odet_ros.evaluation.html import comparison_page, evaluation_page
from odet_ros.evaluation.plots import render_plots
from odet_ros.evaluation.runner import ModelEvaluation

METRICS_FILE = "metrics.json"
COMPARISON_FILE = "comparison.json"
HTML_FILE = "report.html"


def write_report(out: Path, run: ModelEvaluation) -> list[Path]:
    """One model's report in ``out``; returns the files written."""
    return _write_model(out, run, render_plots(run.evaluation, run.label))


def write_comparison(out: Path, comparison: Comparison) -> list[Path]:
    """Both models' reports (``out/a``, ``out/b``) and the comparison; returns the files."""
    a, b = comparison.a, comparison.b
    plots_a = render_plots(a.evaluation, f"A: {a.label}")
    plots_b = render_plots(b.evaluation, f"B: {b.label}")
    written = _write_model(out / "a", a, plots_a) + _write_model(out / "b", b, plots_b)
    written.append(_write_json(out / COMPARISON_FILE, comparison.to_dict()))
    written.append(_write_text(out / HTML_FILE, comparison_page(comparison, plots_a, plots_b)))
    return written


def _write_model(out: Path, run: ModelEvaluation, plots: dict[str, bytes]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [_write_json(out / METRICS_FILE, run.to_dict())]
    written += [_write_bytes(out / name, data) for name, data in plots.items()]
    written.append(_write_text(out / HTML_FILE, evaluation_page(run, plots)))
    return written


def _write_json(path: Path, document: dict[str, Any]) -> Path:
    return _write_text(path, json.dumps(document, indent=1, allow_nan=False) + "\n")


def _write_text(path: Path, text: str) -> Path:
    with atomic_write(path) as stream:
        stream.write(text)
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    with atomic_write(path, "wb") as stream:
        stream.write(data)
    return path
