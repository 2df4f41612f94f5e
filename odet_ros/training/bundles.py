"""Model bundles as ``odet train`` and ``odet export`` write them (format: detection.bundle)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from odet_ros.detection.bundle import ModelBundle
from odet_ros.evaluation.metrics import Summary

# the overall figures a bundle keeps from an evaluation, under the same names
SUMMARY_METRICS = (
    "map50",
    "map75",
    "map50_95",
    "precision",
    "recall",
    "f1",
    "precision_at_conf",
    "recall_at_conf",
    "f1_at_conf",
)


def plain(value: Any) -> Any:
    """``value`` as YAML-safe builtins (paths and numpy scalars become strings or floats)."""
    return json.loads(json.dumps(value, default=_builtin))


def _builtin(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def summary_metrics(summary: Summary) -> dict[str, float]:
    """The overall figures of an evaluation, rounded, NaN left out."""
    figures = {name: float(getattr(summary, name)) for name in SUMMARY_METRICS}
    return {name: round(value, 5) for name, value in figures.items() if not math.isnan(value)}


def write_bundle(folder: Path, bundle: ModelBundle) -> Path:
    """Save ``bundle`` into ``folder`` (which already holds its model file), builtins only."""
    cleaned = replace(
        bundle,
        metrics={name: float(value) for name, value in bundle.metrics.items()},
        provenance=plain(bundle.provenance),
        scores=plain(bundle.scores),
    )
    return cleaned.save(folder)
