"""Train a detector with Ultralytics and write the result as a model bundle.

Transfer learning starts from a local ``.pt`` (YOLOv5u, v8, 11 and newer families: Ultralytics
gives it a new head when the dataset's classes differ); a model YAML (``yolo11n.yaml``) trains
from scratch. The dataset is checked, hashed and handed to Ultralytics as absolute image lists
(:mod:`.data`). TensorBoard logs go to the run folder. At the end the best weights, class names,
input size, dataset hash and summary, training arguments and validation metrics are written to
``<run>/bundle`` as one atomic folder, with what frame selection measures the model against:
its score statistics on the val split and a summary of its training views (:mod:`.profile`).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odet_ros.atomic import staged_folder
from odet_ros.detection.bundle import ModelBundle
from odet_ros.selection.profile import ScoreStats
from odet_ros.training.bundles import write_bundle
from odet_ros.training.data import TrainingDataset, open_dataset, write_ultralytics_yaml
from odet_ros.training.errors import TrainingError
from odet_ros.training.profile import measure_scores, with_profile, write_training_views
from odet_ros.training.weights import YAML_SUFFIXES, class_names, load_yolo, training_source

log = logging.getLogger(__name__)

BUNDLE_FOLDER = "bundle"
DATA_FOLDER = ".odet-data"  # under the project: the image lists Ultralytics trains on, by hash
AUGMENTATIONS = ("hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale", "fliplr", "mosaic")
OPTIMIZERS = ("auto", "SGD", "MuSGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSProp")
# Ultralytics' validation figures -> bundle metric names
VALIDATION_METRICS = {
    "metrics/mAP50(B)": "map50",
    "metrics/mAP50-95(B)": "map50_95",
    "metrics/precision(B)": "precision",
    "metrics/recall(B)": "recall",
}
# a segmentation model's mask figures, besides its boxes'
MASK_METRICS = {
    "metrics/mAP50(M)": "mask_map50",
    "metrics/mAP50-95(M)": "mask_map50_95",
    "metrics/precision(M)": "mask_precision",
    "metrics/recall(M)": "mask_recall",
}


@dataclass(frozen=True)
class TrainSettings:
    """What ``odet train`` was asked for; None leaves Ultralytics' default."""

    data: str | Path
    model: str  # local .pt, bundle folder, or model YAML
    epochs: int = 100
    imgsz: int = 640
    batch: int = 16
    device: str | None = None  # cpu, cuda:N, or "0,1" for DDP; None: Ultralytics chooses
    patience: int = 100
    freeze: int | list[int] | None = None
    optimizer: str = "auto"
    lr0: float | None = None
    augment: dict[str, float] = field(default_factory=dict)  # keys from AUGMENTATIONS
    project: str | Path = Path("runs") / "train"
    name: str = "exp"
    resume: bool = False
    workers: int = 8
    tensorboard: bool = True
    download: bool = False  # fetch a published weights file named by `model` (download.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "project", Path(self.project))
        unknown = sorted(set(self.augment) - set(AUGMENTATIONS))
        if unknown:
            raise TrainingError(f"unknown augmentation setting(s): {', '.join(unknown)}")
        if self.optimizer not in OPTIMIZERS:
            raise TrainingError(
                f"--optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}"
            )
        for name in ("epochs", "imgsz", "batch"):
            if getattr(self, name) < 1:
                raise TrainingError(f"--{name} must be at least 1, not {getattr(self, name)}")

    def ultralytics_arguments(self) -> dict[str, Any]:
        """The arguments given to ``YOLO.train``, besides ``data``."""
        arguments = {
            "epochs": self.epochs,
            "imgsz": self.imgsz,
            "batch": self.batch,
            "patience": self.patience,
            "optimizer": self.optimizer,
            "project": str(Path(self.project).expanduser().resolve()),
            "name": self.name,
            "workers": self.workers,
            **self.augment,
        }
        optional = {"device": self.device, "freeze": self.freeze, "lr0": self.lr0}
        arguments.update({k: v for k, v in optional.items() if v is not None})
        return arguments


@dataclass(frozen=True)
class TrainResult:
    run: Path  # Ultralytics' run folder (weights, plots, TensorBoard events)
    bundle: Path
    metrics: dict[str, float]


def train(settings: TrainSettings) -> TrainResult:
    """Train as ``settings`` say and write the bundle; returns where everything went."""
    dataset = open_dataset(settings.data)
    _check_device(settings.device)
    if settings.resume:
        source = str(_checkpoint_to_resume(settings))
        yolo = load_yolo(source, TrainingError)
    else:
        source = training_source(settings.model, TrainingError, download=settings.download)
        yolo = load_yolo(source, TrainingError)
        if Path(source).suffix not in YAML_SUFFIXES:
            _report_classes(source, class_names(yolo), dataset)
    _check_outlines(yolo.task, source, dataset)
    project = Path(settings.ultralytics_arguments()["project"])
    data_yaml = write_ultralytics_yaml(dataset, project / DATA_FOLDER / dataset.fingerprint[7:23])
    if settings.tensorboard:
        _log_to_tensorboard(yolo, settings.device)
    arguments = (
        {"resume": True, **_resume_overrides(settings)}
        if settings.resume
        else settings.ultralytics_arguments()
    )
    try:
        yolo.train(data=str(data_yaml), **arguments)
    except (FileNotFoundError, ValueError, RuntimeError, SyntaxError) as error:
        raise TrainingError(f"training {source} on {dataset.yaml_file} failed: {error}") from error
    trainer = yolo.trainer
    run = Path(trainer.save_dir)
    weights = Path(trainer.best) if Path(trainer.best).is_file() else Path(trainer.last)
    imgsz = int(trainer.args.imgsz)  # a resumed run keeps its own
    metrics = _validation_metrics(
        trainer.metrics, weights, data_yaml, imgsz, settings, task=yolo.task
    )
    record = {
        "source_model": source,
        "arguments": {"data": str(dataset.yaml_file), **arguments},
        "ultralytics_version": _ultralytics_version(),
    }
    scores = measure_scores(weights, dataset, imgsz, settings.device)
    bundle = write_training_bundle(
        run, weights, dataset=dataset, training=record, metrics=metrics, imgsz=imgsz, scores=scores
    )
    return TrainResult(run, bundle, metrics)


def write_training_bundle(
    run: Path,
    weights: Path,
    *,
    dataset: TrainingDataset,
    training: dict[str, Any],
    metrics: dict[str, float],
    imgsz: int,
    scores: ScoreStats | None = None,
) -> Path:
    """``<run>/bundle``: the weights as ``<run name>.pt``, the summary of the training views
    and bundle.yaml (with the score statistics), written atomically."""
    folder = run / BUNDLE_FOLDER
    with staged_folder(folder, TrainingError, replace=True) as staging:
        model_file = f"{run.name}.pt"
        shutil.copy2(weights, staging / model_file)
        bundle = ModelBundle(
            model=model_file,
            names=dataset.names,
            imgsz=(imgsz, imgsz),
            input_layout="nchw",
            input_dtype="float32",
            dataset=str(dataset.yaml_file),
            run=str(run),
            metrics=metrics,
            provenance={
                "dataset": dataset.describe(),
                "training": training,
                "evaluation": {"split": "val", "mode": "ultralytics", "weights": weights.name},
            },
        )
        views = write_training_views(staging, dataset)
        write_bundle(staging, with_profile(bundle, scores, views))
    log.info("bundle written to %s", folder)
    return folder


def _checkpoint_to_resume(settings: TrainSettings) -> Path:
    """The ``last.pt`` to continue: --model when it names one, else the run's own."""
    given = Path(settings.model).expanduser()
    if given.suffix == ".pt" and given.is_file():
        return given
    last = Path(settings.project).expanduser() / settings.name / "weights" / "last.pt"
    if not last.is_file():
        raise TrainingError(
            f"--resume: no checkpoint at {last}; pass the run's last.pt with --model, or the"
            " --project and --name of the run to continue"
        )
    return last


def _resume_overrides(settings: TrainSettings) -> dict[str, Any]:
    """What may change when resuming (Ultralytics restores the rest from the checkpoint)."""
    overrides: dict[str, Any] = {"workers": settings.workers}
    if settings.device is not None:
        overrides["device"] = settings.device
    return overrides


def _check_device(device: str | None) -> None:
    """A clear error for a GPU that is not there, before Ultralytics builds anything."""
    if device is None or device.lower() in ("cpu", "mps"):
        return
    import torch

    ids = [part.strip() for part in device.lower().replace("cuda:", "").split(",")]
    ids = ["0" if part == "cuda" else part for part in ids]
    if not all(part.isdigit() for part in ids):
        raise TrainingError(
            f"--device {device}: expected cpu, cuda:N, or GPU ids separated by commas (0,1)"
        )
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    missing = [i for i in ids if int(i) >= available]
    if missing:
        raise TrainingError(
            f"--device {device}: GPU {', '.join(missing)} not found ({available} CUDA device(s)"
            f" here, torch {torch.__version__}); use --device cpu"
        )


def _check_outlines(task: str, source: str, dataset: TrainingDataset) -> None:
    """A segmentation model learns from outlines: refuse a dataset of boxes alone before
    Ultralytics trains masks on nothing."""
    if task != "segment":
        return
    train = dataset.summary["train"]
    if not train.outlines:
        raise TrainingError(
            f"{source} is a segmentation model, but the train split of {dataset.yaml_file} has"
            f" boxes only ({train.boxes} boxes, no polygon row): import outlines (COCO"
            " segmentation, Label Studio polygons or brushes, CVAT polygons, YOLO-seg), or train"
            " a detection model"
        )
    if train.outlines < train.boxes:
        log.warning(
            "%s: %d of the train split's %d objects have no outline; Ultralytics drops a label"
            " file that mixes box and polygon rows",
            dataset.yaml_file,
            train.boxes - train.outlines,
            train.boxes,
        )


def _report_classes(source: str, model_names: list[str], dataset: TrainingDataset) -> None:
    """Fine-tuning on other classes is normal (Ultralytics gives the model a new head): say so."""
    if model_names == dataset.names:
        log.info("%s already knows the dataset's %d classes", source, len(model_names))
        return
    log.info(
        "%s was trained on %d classes (%s); %s has %d (%s): the detection head is rebuilt for the"
        " dataset's classes and learns them from scratch, the backbone's features transfer",
        source,
        len(model_names),
        _listed(model_names),
        dataset.yaml_file,
        len(dataset.names),
        _listed(dataset.names),
    )


def _listed(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... {len(names) - limit} more" if len(names) > limit else "")


def _log_to_tensorboard(yolo: Any, device: str | None) -> None:
    """Attach Ultralytics' TensorBoard callback (run folder; ``tensorboard --logdir runs``)
    without changing the user's Ultralytics settings file."""
    from ultralytics.utils import SETTINGS
    from ultralytics.utils.callbacks import tensorboard

    if SETTINGS.get("tensorboard") is True:
        return  # Ultralytics attaches it itself
    if not tensorboard.callbacks:
        log.warning(
            "TensorBoard logging is off: Ultralytics' callback is inactive (torch.utils.tensorboard"
            " does not import, or this runs under pytest)"
        )
        return
    if device and "," in device:
        log.warning(
            "multi-GPU training runs in Ultralytics' DDP workers, which log to TensorBoard only"
            " with `yolo settings tensorboard=True`"
        )
    for event, callback in tensorboard.callbacks.items():
        yolo.add_callback(event, callback)


def _validation_metrics(
    trainer_metrics: dict[str, Any] | None,
    weights: Path,
    data_yaml: Path,
    imgsz: int,
    settings: TrainSettings,
    *,
    task: str = "detect",
) -> dict[str, float]:
    """Ultralytics' final validation of the best weights (boxes, and masks for a segmentation
    model); run it here when the trainer did not report it (DDP runs it in its workers)."""
    wanted = {**VALIDATION_METRICS, **(MASK_METRICS if task == "segment" else {})}
    figures = trainer_metrics or {}
    if not all(key in figures for key in wanted):
        validator = load_yolo(weights, TrainingError)
        figures = validator.val(
            data=str(data_yaml),
            split="val",
            imgsz=imgsz,
            batch=settings.batch,
            device=(settings.device or "").split(",")[0] or None,
            plots=False,
            verbose=False,
        ).results_dict
    return {name: round(float(figures[key]), 5) for key, name in wanted.items()}


def _ultralytics_version() -> str:
    from ultralytics import __version__

    return __version__
