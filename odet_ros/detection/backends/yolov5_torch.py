"""YOLOv5 backend for ``.pt`` checkpoints of the original ultralytics/yolov5 repository.

Their pickles name the repository's own classes (``models.yolo.DetectionModel``), which
Ultralytics 8 refuses to load; the ``yolov5`` package on PyPI packages that repository and puts
its root on ``sys.path`` when imported, so the checkpoint unpickles as the repository itself
would load it. The network runs as in its ``detect.py``: fused, FP32 (FP16 on CUDA with
``half``), input the smallest stride-aligned rectangle around the letterboxed frame. Its output
is the anchor-based head ``[1, N, 5+nc]`` in input pixels; decoding and NMS are ours.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from odet_ros.detection.backends.base import BackendOptions, InputSpec
from odet_ros.detection.backends.pytorch import torch_device
from odet_ros.detection.decode import PIXELS, YOLOV5
from odet_ros.detection.errors import ModelError


def _import_yolov5(path: Path) -> None:
    try:
        importlib.import_module("yolov5.models.yolo")  # adds the package root to sys.path
    except ImportError as error:
        raise ModelError(
            f"{path}: a YOLOv5 checkpoint (the original ultralytics/yolov5 repository), which"
            " Ultralytics 8 cannot load. Install the yolov5 package (pip install yolov5), or export"
            " it to ONNX with that repository and use the .onnx: python export.py --weights"
            f" {path.name} --include onnx --imgsz 640 (the size it was trained at)"
        ) from error


class YOLOv5Backend:
    """A fused YOLOv5 ``DetectionModel`` on a CPU or CUDA device."""

    name = "yolov5"
    concurrent_runs = 1
    output_kind = YOLOV5

    def __init__(self, path: Path, options: BackendOptions) -> None:
        _import_yolov5(path)
        import torch

        self.path = path
        self._torch = torch
        self._device = torch_device(torch, options, path)
        try:  # a full pickle of the model, as the repository's attempt_load reads it
            checkpoint = torch.load(str(path), map_location="cpu", weights_only=False)
            model = (checkpoint.get("ema") or checkpoint["model"]).float()
        except Exception as error:  # torch.load and checkpoint parsing raise many types
            raise ModelError(f"{path}: cannot load the YOLOv5 checkpoint: {error}") from error
        model = model.fuse().eval() if hasattr(model, "fuse") else model.eval()
        self._half = options.half and options.gpu_index is not None
        self._model = (model.half() if self._half else model).to(self._device)
        self.stride = int(max(model.stride))
        self.input = InputSpec(None, "nchw", np.dtype(np.float32))
        self.metadata = _checkpoint_metadata(model, checkpoint)

    def run(self, tensor: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(tensor).to(self._device)
            output = self._model(x.half() if self._half else x)
        if isinstance(output, (list, tuple)):
            output = output[0]  # (inference output, per-level training outputs)
        result: np.ndarray = output.float().cpu().numpy()
        return result

    def run_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        """The detection output alone: a YOLOv5 ``DetectionModel`` has no mask head."""
        return [self.run(tensor)]

    def box_units(self, kind: str) -> str | None:
        return PIXELS


def _checkpoint_metadata(model: Any, checkpoint: dict[str, Any]) -> dict[str, Any]:
    """Names and training image size in the shape of export metadata."""
    names = model.names
    options = checkpoint.get("opt") or {}
    return {
        "names": dict(enumerate(names)) if isinstance(names, (list, tuple)) else dict(names),
        "imgsz": options.get("imgsz"),
        "stride": int(max(model.stride)),
    }


def open_model(path: Path, options: BackendOptions) -> YOLOv5Backend:
    return YOLOv5Backend(path, options)
