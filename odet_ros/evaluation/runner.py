"""Run models over a dataset split through the detection core and score what they find.

The models run exactly as on the robot (:func:`odet_ros.detection.load_detector`, the node's
code), only with the evaluation thresholds: conf 0.001 and max_det 300, as Ultralytics and COCO
practice, so AP sees the low scores; the figures at the robot's ``conf`` are read from the same
run. Several models share one pass over the images, each image read once. A segmentation model
on a split labelled with outlines is also scored on its masks (COCO mode, :mod:`.masks`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from odet_ros.dataset.reader import DatasetSplit, GroundTruth, load_split
from odet_ros.detection.detector import load_detector
from odet_ros.detection.types import Detections
from odet_ros.evaluation.errors import EvaluationError
from odet_ros.evaluation.masks import evaluate_masks
from odet_ros.evaluation.metrics import DEFAULT_CONF, Evaluation, evaluate_detections
from odet_ros.evaluation.scores import score_stats
from odet_ros.selection.profile import ScoreStats

log = logging.getLogger(__name__)

EVAL_CONF = 0.001
EVAL_MAX_DET = 300
EVAL_NMS_IOU = 0.7  # Ultralytics' val default
GENERIC_BUNDLE_FOLDER = "bundle"  # odet train's: runs/train/<name>/bundle


@dataclass(frozen=True)
class ModelEvaluation:
    """One model's evaluation on one split, with what identifies both."""

    model: str  # as the user named it
    model_file: Path
    backend: str
    input_size: tuple[int, int]  # (height, width)
    dataset: Path  # the data.yaml
    split: str
    evaluation: Evaluation
    inference_ms: float  # mean wall time of detect() per image
    skipped: list[str] = field(default_factory=list)  # unreadable images, left out
    scores: ScoreStats | None = None  # its score statistics (for frame selection)
    masks: Evaluation | None = None  # a segmentation model's mask scores (COCO mode)

    @property
    def label(self) -> str:
        """A short name for titles: a bundle's folder (``sample-tflite-int8``), or the model
        file's name where the folder says nothing (``runs/train/x/bundle`` -> ``x.pt``)."""
        named = Path(self.model)
        if named.is_dir() and named.name != GENERIC_BUNDLE_FOLDER:
            return named.name
        return self.model_file.name

    def to_dict(self) -> dict[str, Any]:
        """The evaluation's JSON (see :mod:`.metrics`) with ``model`` and ``dataset`` added."""
        return {
            **self.evaluation.to_dict(),
            "model": {
                "name": self.model,
                "file": str(self.model_file),
                "backend": self.backend,
                "input_size": list(self.input_size),
                "inference_ms": round(self.inference_ms, 3),
            },
            "dataset": {
                "yaml": str(self.dataset),
                "split": self.split,
                "skipped_images": self.skipped,
            },
            **({} if self.masks is None else {"masks": mask_section(self.masks)}),
        }


def evaluate_model(
    model: str | Path,
    data: str | Path,
    split: str = "val",
    *,
    mode: str = "coco",
    conf: float = DEFAULT_CONF,
    imgsz: int | tuple[int, int] | None = None,
    backend: str | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> ModelEvaluation:
    """Evaluate one model (a bundle, a bundle name or a model file) on ``split`` of ``data``."""
    return evaluate_models(
        [model],
        data,
        split,
        mode=mode,
        conf=conf,
        imgsz=imgsz,
        backends=[backend],
        device=device,
        progress=progress,
    )[0]


def evaluate_models(
    models: Sequence[str | Path],
    data: str | Path,
    split: str = "val",
    *,
    mode: str = "coco",
    conf: float = DEFAULT_CONF,
    imgsz: int | tuple[int, int] | None = None,
    backends: Sequence[str | None] | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> list[ModelEvaluation]:
    """Evaluate each model on the same images of ``split``; ``backends`` pairs with ``models``
    (None: from the file suffix)."""
    dataset = load_split(data, split)
    if not any(sample.labels.is_file() for sample in dataset.samples):
        raise EvaluationError(
            f"{dataset.yaml_file}: split {split!r} has no label files (the first image's would be"
            f" {dataset.samples[0].labels})"
        )
    chosen = list(backends) if backends is not None else [None] * len(models)
    detectors = [
        load_detector(
            m,
            b,
            device=device,
            imgsz=imgsz,
            conf=EVAL_CONF,
            iou=EVAL_NMS_IOU,
            max_det=EVAL_MAX_DET,
        )
        for m, b in zip(models, chosen, strict=True)
    ]
    for model, detector in zip(models, detectors, strict=True):
        _check_names(model, detector.names, dataset)
    num_classes = len(dataset.names)
    truths: list[GroundTruth] = []
    sizes: list[tuple[int, int]] = []
    predictions: list[list[Detections]] = [[] for _ in detectors]
    seconds = np.zeros(len(detectors))
    skipped = []
    for sample in tqdm(dataset.samples, desc=f"eval {split}", unit="image", disable=not progress):
        image = cv2.imread(str(sample.image), cv2.IMREAD_COLOR)
        if image is None:
            log.warning("skipping unreadable image %s", sample.image)
            skipped.append(str(sample.image))
            continue
        height, width = image.shape[:2]
        truths.append(sample.ground_truth(width, height, num_classes))
        sizes.append((height, width))
        for index, detector in enumerate(detectors):
            start = time.perf_counter()
            predictions[index].append(detector.detect(image))
            seconds[index] += time.perf_counter() - start
    if not truths:
        raise EvaluationError(f"{dataset.yaml_file}: no readable image in split {split!r}")
    if not any(len(truth.class_ids) for truth in truths):
        raise EvaluationError(f"{dataset.yaml_file}: split {split!r} has no labelled boxes")
    outlined = _outlined(truths, dataset)
    evaluations = []
    for model, detector, found, spent in zip(models, detectors, predictions, seconds, strict=True):
        evaluation = evaluate_detections(found, truths, dataset.names, mode=mode, conf=conf)
        masks = None
        if detector.segments and outlined:
            masks = evaluate_masks(found, truths, sizes, dataset.names, conf=conf)
        best_conf = evaluation.summary.best_f1_conf
        evaluations.append(
            ModelEvaluation(
                model=str(model),
                model_file=detector.model_path,
                backend=detector.backend_name,
                input_size=detector.input_size,
                dataset=dataset.yaml_file,
                split=split,
                evaluation=evaluation,
                inference_ms=1000 * spent / len(truths),
                skipped=skipped,
                scores=score_stats(found, truths, num_classes, best_conf, split),
                masks=masks,
            )
        )
    return evaluations


def mask_section(masks: Evaluation) -> dict[str, Any]:
    """The ``masks`` object of the JSON: COCO-mode figures of the masks, overall and per class."""
    return {"mode": masks.mode, "overall": masks.overall(), "classes": masks.class_rows()}


def _outlined(truths: list[GroundTruth], dataset: DatasetSplit) -> bool:
    """Whether the split is labelled with outlines (every labelled image; said when only some)."""
    labelled = [truth for truth in truths if len(truth.class_ids)]
    outlined = sum(truth.polygons is not None for truth in labelled)
    if 0 < outlined < len(labelled):
        log.warning(
            "%s: %d of %d labelled images of split %r have boxes only: no mask scores",
            dataset.yaml_file,
            len(labelled) - outlined,
            len(labelled),
            dataset.split,
        )
    return bool(labelled) and outlined == len(labelled)


def _check_names(model: str | Path, names: list[str], dataset: DatasetSplit) -> None:
    if len(names) != len(dataset.names):
        raise EvaluationError(
            f"{model} has {len(names)} classes ({_listed(names)}) but {dataset.yaml_file} has"
            f" {len(dataset.names)} ({_listed(dataset.names)})"
        )
    if names != dataset.names:
        log.warning(
            "%s names its classes %s, %s names them %s: scoring by class index",
            model,
            _listed(names),
            dataset.yaml_file,
            _listed(dataset.names),
        )


def _listed(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... {len(names) - limit} more" if len(names) > limit else "")
