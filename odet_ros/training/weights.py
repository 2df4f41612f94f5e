"""Open Ultralytics models for training and export: local files only, with errors that say what
to do. Ultralytics would try to download a weights name it cannot find; odet never does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from odet_ros.detection.bundle import ResolvedModel, resolve_model
from odet_ros.detection.errors import ModelError
from odet_ros.errors import OdetError
from odet_ros.ultralytics_env import import_ultralytics

YAML_SUFFIXES = (".yaml", ".yml")


def find_weights(model: str | Path, error: type[OdetError]) -> ResolvedModel:
    """The local ``.pt`` that ``model`` names (the file itself or the one in a bundle folder),
    with its bundle when it is in one."""
    path = Path(model).expanduser()
    if path.suffix == ".pt" and not path.exists():
        raise error(
            f"{model}: no such weights file. odet downloads weights only when asked: pass"
            f" --download to odet train to fetch a published {path.name}, or fetch it on a"
            f" machine with internet access and put it at {path.resolve()}"
        )
    try:
        resolved = resolve_model(path)
    except ModelError as failure:
        raise error(str(failure)) from None
    if resolved.path.suffix != ".pt":
        raise error(
            f"{model}: {resolved.path.name} is not a PyTorch .pt checkpoint; training and export"
            " start from the .pt (a training bundle or a weights file)"
        )
    return resolved


def training_source(model: str, error: type[OdetError], *, download: bool = False) -> str:
    """What to build the model to train from: a model YAML (a local file or one Ultralytics
    ships, like ``yolo11n.yaml``: built from scratch) or a local ``.pt`` (transfer learning);
    with ``download``, a published weights name that is not a local file is fetched
    (:mod:`.download`)."""
    if Path(model).suffix in YAML_SUFFIXES:
        return str(Path(model).expanduser()) if Path(model).expanduser().is_file() else model
    path = Path(model).expanduser()
    if download and path.suffix == ".pt" and not path.exists():
        from odet_ros.training.download import fetch_weights

        return str(fetch_weights(path.name))
    return str(find_weights(model, error).path)


TASKS = ("detect", "segment")


def load_yolo(source: str | Path, error: type[OdetError]) -> Any:
    """``YOLO(source)`` for a detection or segmentation model (the task the file or YAML name
    says); a corrupted file or unknown YAML is ``error``."""
    yolo_class = import_ultralytics().YOLO
    try:
        yolo = yolo_class(str(source))
    except Exception as failure:  # torch.load, YAML parsing and model building raise many types
        raise error(f"{source}: cannot load the model: {failure}") from failure
    if yolo.task not in TASKS:
        raise error(
            f"{source}: a {yolo.task} model; odet trains and exports detection and segmentation"
            " (-seg) models"
        )
    return yolo


def class_names(yolo: Any) -> list[str]:
    """The model's class names in index order."""
    names = yolo.names
    return [str(names[i]) for i in range(len(names))] if isinstance(names, dict) else list(names)
