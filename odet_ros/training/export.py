"""Export a trained ``.pt`` for the robot, into a model bundle, and measure what it cost.

Formats: ONNX; TFLite through LiteRT (Ultralytics' ``litert`` export, litert-torch) in fp32,
int8 calibrated on the dataset's train images, or int8 weights only; a DeepStream package (ONNX +
labels + nvinfer config, :mod:`.deepstream`); a TensorRT engine where TensorRT and a GPU are.

The bundle is built in a hidden folder beside ``out``: the export, then the exported model and
its source scored on the dataset's test split (val without one) by odet's evaluation through the
detection core, then the metrics, the mAP50-95 drop and the exported model's score statistics
into bundle.yaml, with the training views (the source bundle's, else summarised from the
dataset; :mod:`.profile`); only then is it renamed to ``out``. Any failure (a missing
toolchain, a corrupted model, a class count that disagrees with the dataset, a model the
detector cannot load) leaves no bundle behind.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from odet_ros.atomic import staged_folder
from odet_ros.dataset.errors import DatasetError
from odet_ros.detection.bundle import ModelBundle
from odet_ros.detection.decode import NMS, PIXELS, RAW
from odet_ros.training.accuracy import DEFAULT_MAX_DROP, ExportAccuracy, measure_export
from odet_ros.training.bundles import write_bundle
from odet_ros.training.calibration import Calibration, prepare_calibration
from odet_ros.training.data import TrainingDataset, open_dataset
from odet_ros.training.deepstream import DEFAULT_OPSET, write_deepstream_package
from odet_ros.training.errors import ExportError, ToolchainError
from odet_ros.training.formats import FORMATS, PIP_NAMES, ExportFormat
from odet_ros.training.input_size import camera_hint, export_input_size
from odet_ros.training.profile import carry_training_views, with_profile
from odet_ros.training.quantize import quantize_int8
from odet_ros.training.weights import class_names, find_weights, load_yolo

log = logging.getLogger(__name__)

DEFAULT_OUT = Path("runs") / "export"
WORK_FOLDER = ".export"  # inside the staged bundle, removed before it is renamed into place
DEEPSTREAM_FOLDER = "deepstream"


@dataclass(frozen=True)
class ExportSettings:
    """What ``odet export`` was asked for; None leaves the model's or Ultralytics' default."""

    model: str | Path  # a training bundle or a .pt
    format: str
    data: str | Path | None = None  # default: the dataset the source bundle was trained on
    imgsz: int | None = None  # default: the model's training size
    camera: tuple[int, int] | None = None  # (width, height) of the robot's frames: fit to them
    opset: int | None = None
    dynamic: bool = False
    batch: int = 1  # frames per run: one per camera of a node serving several (ONNX, engine)
    simplify: bool = True
    out: str | Path | None = None  # default: runs/export/<model>-<format>
    max_drop: float = DEFAULT_MAX_DROP  # mAP50-95 points before the loud warning
    device: str = "cpu"  # where to export and evaluate (engine: a CUDA device)
    force: bool = False  # replace an existing out folder

    def __post_init__(self) -> None:
        if self.out is not None:
            object.__setattr__(self, "out", Path(self.out).expanduser())
        if self.format not in FORMATS:
            raise ExportError(f"--format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.imgsz is not None and self.imgsz < 32:
            raise ExportError(f"--imgsz must be at least 32, not {self.imgsz}")
        if not FORMATS[self.format].onnx_based and (self.opset or self.dynamic or self.batch != 1):
            raise ExportError(
                f"--opset, --dynamic and --batch apply to ONNX-based formats, not {self.format}"
            )
        if self.batch < 1:
            raise ExportError(f"--batch must be at least 1 frame, not {self.batch}")
        if self.batch > 1 and self.dynamic:
            raise ExportError(
                "--batch fixes the frames per run and --dynamic leaves them free: give one"
            )
        if self.camera is not None:
            if len(self.camera) != 2 or min(self.camera) < 1:
                raise ExportError(f"--camera must be WIDTHxHEIGHT in pixels, not {self.camera}")
            if self.dynamic:
                raise ExportError(
                    "--camera fixes the input to the camera's shape and --dynamic leaves it free:"
                    " give one of them (a dynamic ONNX already runs on the frame's rectangle)"
                )


@dataclass(frozen=True)
class ExportResult:
    bundle: Path
    accuracy: ExportAccuracy | None  # None when no dataset was available
    drop_exceeded: bool
    hint: str | None = None  # a better export for this dataset, when one is plain to see


def export_model(settings: ExportSettings) -> ExportResult:
    """Export, evaluate and write the bundle; see the module docstring."""
    fmt = FORMATS[settings.format]
    check_toolchain(fmt, settings)
    source = find_weights(settings.model, ExportError)
    yolo = load_yolo(source.path, ExportError)
    names = class_names(yolo)
    dataset = _dataset(settings, source.bundle)
    if dataset is not None and len(dataset.names) != len(names):
        raise ExportError(
            f"{source.path} has {len(names)} classes ({', '.join(names)}) but"
            f" {dataset.yaml_file} has {len(dataset.names)} ({', '.join(dataset.names)}): wrong"
            " model or dataset"
        )
    imgsz = settings.imgsz or int(yolo.model.args.get("imgsz", 640))
    stride = int(max(yolo.model.stride))
    input_hw = export_input_size(imgsz, settings.camera, stride)
    hint = None
    if settings.camera is None and not settings.dynamic and dataset is not None:
        hint = camera_hint(dataset, imgsz, stride, input_hw)
    end2end = bool(getattr(yolo.model, "end2end", False))
    if end2end and fmt.name == "deepstream":
        raise ExportError(
            f"{source.path}: an end-to-end model (NMS inside, e.g. YOLO26); the DeepStream package"
            " is made for the raw YOLO head (YOLOv8/11 families): export --format onnx instead"
        )
    calibration = prepare_calibration(dataset, fmt.name) if fmt.calibrated else None
    out = Path(settings.out or DEFAULT_OUT / f"{source.path.stem}-{fmt.name}")
    with staged_folder(out, ExportError, replace=settings.force) as staging:
        model_file, record = _write_model(
            source.path, fmt, settings, input_hw, calibration=calibration, folder=staging
        )
        if fmt.name == "deepstream":
            write_deepstream_package(model_file, staging / DEEPSTREAM_FOLDER, names)
            record["deepstream_package"] = DEEPSTREAM_FOLDER
        bundle = ModelBundle(
            model=model_file.name,
            names=names,
            imgsz=input_hw,
            input_layout="nchw",
            input_dtype="float32",
            output_format=NMS if end2end else RAW,
            box_units=PIXELS if end2end else fmt.raw_box_units,
            dataset=str(dataset.yaml_file) if dataset else _inherited(source.bundle, "dataset"),
            run=_inherited(source.bundle, "run"),
            provenance=_provenance(source.bundle, dataset, record),
        )
        views = carry_training_views(source.bundle, source.path.parent, staging, dataset)
        bundle = replace(bundle, training_views=views)
        write_bundle(staging, bundle)  # the evaluation loads the model through its bundle
        accuracy = None
        if dataset is not None:
            accuracy = measure_export(staging, source.path, dataset, input_hw, settings.device)
            evaluated = {**bundle.provenance, "evaluation": accuracy.describe()}
            bundle = replace(bundle, metrics=accuracy.metrics(), provenance=evaluated)
            write_bundle(staging, with_profile(bundle, accuracy.exported.scores, views))
    exceeded = accuracy is not None and accuracy.worst_drop_points > settings.max_drop
    return ExportResult(out, accuracy, exceeded, hint)


def _write_model(
    weights: Path,
    fmt: ExportFormat,
    settings: ExportSettings,
    input_hw: tuple[int, int],
    *,
    calibration: Calibration | None,
    folder: Path,
) -> tuple[Path, dict[str, Any]]:
    """Export (and quantise) into the bundle folder; returns the model file and its record."""
    work = folder / WORK_FOLDER
    arguments = _ultralytics_arguments(fmt, settings, input_hw)
    exported = _export(weights, fmt, arguments, work)
    model_file = folder / f"{weights.stem}{fmt.suffix}"
    record = _export_record(fmt, weights, arguments)
    if calibration is None:
        exported.replace(model_file)
    else:
        quantization = quantize_int8(exported, model_file, calibration.samples(input_hw))
        record |= {"calibration": calibration.describe(), "quantization": quantization.describe()}
    shutil.rmtree(work)
    return model_file, record


def _provenance(
    source: ModelBundle | None, dataset: TrainingDataset | None, export: dict[str, Any]
) -> dict[str, Any]:
    """The source bundle's record (its training run), this export, and the dataset now used;
    the source's evaluation does not describe the exported model and is left out."""
    inherited = {
        k: v for k, v in (source.provenance if source else {}).items() if k != "evaluation"
    }
    return {
        **inherited,
        **({"dataset": dataset.describe()} if dataset is not None else {}),
        "export": export,
    }


def check_toolchain(fmt: ExportFormat, settings: ExportSettings) -> None:
    """A clear error, before anything is written, when the format cannot be made here."""
    modules = [*fmt.modules, *(["onnxslim"] if fmt.onnx_based and settings.simplify else [])]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        packages = " ".join(PIP_NAMES[m] for m in missing)
        hint = (
            "; TensorRT engines are built where TensorRT is (the Jetson): export --format"
            " deepstream or onnx here"
            if "tensorrt" in missing
            else ""
        )
        raise ToolchainError(
            f"--format {fmt.name} needs {packages}, not installed here (pip install {packages})"
            f"{hint}"
        )
    if fmt.name == "engine":
        import torch

        if not settings.device.startswith("cuda") or not torch.cuda.is_available():
            raise ToolchainError(
                f"--format engine builds on an NVIDIA GPU (--device cuda:0); device"
                f" {settings.device} here, CUDA available: {torch.cuda.is_available()}"
            )
    if fmt.quantize == "w8a32":
        from ultralytics import __version__
        from ultralytics.engine import exporter

        if "litert" not in getattr(exporter, "W8A32_FORMATS", ()):
            raise ToolchainError(
                f"--format {fmt.name}: Ultralytics {__version__} has no weight-only int8 LiteRT"
                " export (quantize='w8a32'); upgrade Ultralytics, or use --format tflite-int8"
            )


def _dataset(settings: ExportSettings, bundle: ModelBundle | None) -> TrainingDataset | None:
    """--data, else the dataset the source bundle records, if it is still there."""
    if settings.data is not None:
        return open_dataset(settings.data)
    recorded = _inherited(bundle, "dataset")
    if recorded is None:
        return None
    try:
        dataset = open_dataset(recorded)
    except DatasetError as error:
        log.warning("cannot use the bundle's dataset %s: %s", recorded, error)
        return None
    log.info("using the dataset the model was trained on: %s", dataset.yaml_file)
    return dataset


def _inherited(bundle: ModelBundle | None, name: str) -> str | None:
    return getattr(bundle, name) if bundle is not None else None


def _ultralytics_arguments(
    fmt: ExportFormat,
    settings: ExportSettings,
    input_hw: tuple[int, int],
) -> dict[str, Any]:
    """Arguments for ``YOLO.export``: only those the format takes (Ultralytics rejects others)."""
    imgsz = input_hw[0] if input_hw[0] == input_hw[1] else list(input_hw)
    arguments: dict[str, Any] = {"format": fmt.ultralytics, "imgsz": imgsz, "batch": settings.batch}
    if fmt.onnx_based:
        opset = settings.opset or (DEFAULT_OPSET if fmt.name == "deepstream" else None)
        arguments.update(dynamic=settings.dynamic, simplify=settings.simplify)
        if opset is not None:
            arguments["opset"] = opset
    if fmt.quantize is not None:
        arguments["quantize"] = fmt.quantize
    if fmt.name == "engine":
        arguments["device"] = settings.device.replace("cuda:", "")
    return arguments


def _export(weights: Path, fmt: ExportFormat, arguments: dict[str, Any], work: Path) -> Path:
    """Run Ultralytics' export on a copy of the weights in ``work`` (it writes beside them);
    returns the exported file."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / weights.name
    shutil.copy2(weights, copy)
    log.info("exporting %s to %s", weights, fmt.name)
    yolo = load_yolo(copy, ExportError)
    try:
        return Path(yolo.export(verbose=False, **arguments))
    except Exception as error:  # each exporter raises its own types
        raise ExportError(f"{weights}: {fmt.name} export failed: {error}") from error


def _export_record(fmt: ExportFormat, weights: Path, arguments: dict[str, Any]) -> dict[str, Any]:
    """What the bundle records about its export."""
    from ultralytics import __version__

    return {
        "format": fmt.name,
        "source_weights": str(weights.resolve()),
        "ultralytics_arguments": arguments,
        "ultralytics_version": __version__,
    }
