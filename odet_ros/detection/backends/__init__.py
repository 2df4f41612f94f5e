"""Inference backends, one module each, imported only when a model needs it.

=============  ==========  ==========================================
backend        suffix      runtime
=============  ==========  ==========================================
ultralytics    .pt         PyTorch through Ultralytics (workstation)
yolov5         .pt         PyTorch through the yolov5 package (checkpoints of
                           the original YOLOv5 repository, told by their pickle)
onnxruntime    .onnx       ONNX Runtime (CPU, CUDA, TensorRT EPs)
litert         .tflite     LiteRT / tflite_runtime / tensorflow.lite
tensorrt       .engine     TensorRT (Jetson), Ultralytics engine header
=============  ==========  ==========================================
"""

from __future__ import annotations

import importlib
from pathlib import Path

from odet_ros.detection.backends.base import BackendOptions, InferenceBackend
from odet_ros.detection.errors import ModelError, SettingError
from odet_ros.detection.metadata import is_yolov5_checkpoint

MODULES = {
    "ultralytics": "pytorch",
    "yolov5": "yolov5_torch",
    "onnxruntime": "onnx",
    "litert": "litert",
    "tensorrt": "tensorrt",
}
ALIASES = {"pt": "ultralytics", "torch": "ultralytics", "onnx": "onnxruntime", "tflite": "litert"}
SUFFIXES = {
    ".pt": "ultralytics",
    ".onnx": "onnxruntime",
    ".tflite": "litert",
    ".engine": "tensorrt",
}
BACKEND_CHOICES = (*MODULES, *ALIASES)


def backend_name(path: Path, requested: str | None = None) -> str:
    """The backend for a model file: the one requested, else the one its suffix calls for (a
    ``.pt`` of the original YOLOv5 repository: ``yolov5``)."""
    if requested:
        name = ALIASES.get(requested, requested)
        if name not in MODULES:
            raise SettingError(
                f"backend must be one of {', '.join(BACKEND_CHOICES)}, not {requested!r}"
            )
        return name
    try:
        name = SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ModelError(
            f"{path}: unknown model type {path.suffix or '(no suffix)'}; expected one of"
            f" {', '.join(SUFFIXES)} or an explicit backend"
        ) from None
    return "yolov5" if name == "ultralytics" and is_yolov5_checkpoint(path) else name


def open_backend(name: str, path: Path, options: BackendOptions) -> InferenceBackend:
    """Import the backend's module and open the model with it."""
    module = importlib.import_module(f"{__name__}.{MODULES[name]}")
    backend: InferenceBackend = module.open_model(path, options)
    return backend
