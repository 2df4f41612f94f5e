"""Ultralytics backend for ``.pt`` checkpoints: the model Ultralytics itself would run.

The network is loaded through Ultralytics' ``AutoBackend`` (layer fusion, fp16 on CUDA,
channels-last on x86 CPUs, as ``YOLO.predict`` does), but letterboxing, decoding and NMS are ours,
as for every backend. Like ``predict``, the input is the smallest stride-aligned rectangle that
holds the letterboxed image, not a fixed square.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from odet_ros.detection.backends.base import BackendOptions, InputSpec
from odet_ros.detection.decode import PIXELS
from odet_ros.detection.errors import ModelError
from odet_ros.ultralytics_env import import_ultralytics


def torch_device(torch: Any, options: BackendOptions, path: Path) -> Any:
    """The torch device ``options`` ask for (CUDA refused where torch has none), with torch's
    CPU threads set as asked."""
    if options.gpu_index is not None and not torch.cuda.is_available():
        raise ModelError(f"{path}: device {options.device} requested but CUDA is not available")
    if options.num_threads:
        torch.set_num_threads(options.num_threads)
    return torch.device(options.device)


class UltralyticsBackend:
    """A fused PyTorch model on a CPU or CUDA device."""

    name = "ultralytics"
    concurrent_runs = 1
    output_kind = None

    def __init__(self, path: Path, options: BackendOptions) -> None:
        import_ultralytics()
        import torch
        from ultralytics.nn.autobackend import AutoBackend

        self.path = path
        self._torch = torch
        self._device = torch_device(torch, options, path)
        try:
            self._model = AutoBackend(
                str(path), device=self._device, fp16=options.half, fuse=True, verbose=False
            )
        except Exception as error:  # torch.load and checkpoint parsing raise many types
            raise ModelError(f"{path}: cannot load the PyTorch checkpoint: {error}") from error
        self._model.eval()
        self._half = bool(self._model.fp16)
        self.stride = int(self._model.stride)
        # any number of frames: on a CPU a batch of 2-4 YOLO11n frames at 320 costs 0.81-0.89 of
        # the time of the same frames one by one (bench/batching.py)
        self.input = InputSpec(None, "nchw", np.dtype(np.float32), batch=0)
        self.metadata = _checkpoint_metadata(self._model)

    def run(self, tensor: np.ndarray) -> np.ndarray:
        return self.run_all(tensor)[0]

    def run_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        """The detection output and, for a segmentation model, its prototypes: eval-mode
        Ultralytics heads return (output, extras) and a -seg one ((output, prototypes),
        extras)."""
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(tensor).to(self._device, non_blocking=True)
            output = self._model(x.half() if self._half else x)
        if isinstance(output, (list, tuple)):
            output = output[0]
        tensors = list(output) if isinstance(output, (list, tuple)) else [output]
        return [np.asarray(t.float().cpu().numpy()) for t in tensors]

    def box_units(self, kind: str) -> str | None:
        return PIXELS


def _checkpoint_metadata(model: Any) -> dict[str, Any]:
    """Names, training image size and head type, in the shape of Ultralytics export metadata."""
    args = getattr(model.model, "args", None) or {}
    return {
        "names": dict(model.names),
        "imgsz": args.get("imgsz"),
        "end2end": bool(getattr(model, "end2end", False)),
        "task": args.get("task", "detect"),
    }


def open_model(path: Path, options: BackendOptions) -> UltralyticsBackend:
    return UltralyticsBackend(path, options)
