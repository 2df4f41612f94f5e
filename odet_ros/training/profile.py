"""What a bundle carries for frame selection (:mod:`odet_ros.selection.profile`): the model's
score statistics on a labelled split and a summary of its training views, written by `odet
train` (the validation split) and `odet export` (the split it scores the export on)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

from odet_ros.detection.bundle import ModelBundle
from odet_ros.evaluation.runner import evaluate_model
from odet_ros.selection.profile import VIEWS_FILE, ScoreStats, TrainingViews
from odet_ros.training.data import TrainingDataset

log = logging.getLogger(__name__)


def measure_scores(
    weights: Path, dataset: TrainingDataset, imgsz: int | tuple[int, int], device: str | None
) -> ScoreStats | None:
    """The model's score statistics on the dataset's val split, through the detection core."""
    evaluated = evaluate_model(
        weights, dataset.yaml_file, "val", imgsz=imgsz, device=cuda_device(device), progress=False
    )
    return evaluated.scores


def cuda_device(device: str | None) -> str:
    """A training device (``0``, ``0,1``, ``cuda:1``, ``cpu``, None) as the detector names it."""
    first = (device or "cpu").split(",")[0].strip()
    return f"cuda:{first}" if first.isdigit() else first


def write_training_views(folder: Path, dataset: TrainingDataset) -> str:
    """Summarise the dataset's train images into ``folder``; returns the file's name."""
    views = TrainingViews.measure(sample.image for sample in dataset.splits["train"].samples)
    views.save(folder / VIEWS_FILE)
    log.info("training views: %d images in %d views", views.images, len(views.signatures))
    return VIEWS_FILE


def carry_training_views(
    source: ModelBundle | None, source_folder: Path, folder: Path, dataset: TrainingDataset | None
) -> str | None:
    """The training views of an export: the source bundle's, copied, else summarised from the
    dataset's train images, else none."""
    if source is not None and source.training_views:
        shutil.copy2(source_folder / source.training_views, folder / VIEWS_FILE)
        return VIEWS_FILE
    if dataset is not None:
        return write_training_views(folder, dataset)
    return None


def with_profile(
    bundle: ModelBundle, scores: ScoreStats | None, training_views: str | None
) -> ModelBundle:
    return replace(
        bundle,
        scores=scores.to_dict() if scores is not None else {},
        training_views=training_views,
    )
