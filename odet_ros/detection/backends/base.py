"""What every inference backend provides to the detector, and the options it is opened with.

A backend only runs the network: the detector does letterboxing, decoding and NMS around it, so
every runtime gets the same pre- and post-processing. Backend modules import their runtime
(torch, onnxruntime, LiteRT, TensorRT) inside ``open_model`` and are themselves imported only when
chosen, so an ONNX or TFLite detector never loads torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from odet_ros.detection.errors import ModelError, SettingError
from odet_ros.detection.letterbox import LETTERBOX

_FLOAT32 = np.dtype(np.float32)
_DEVICE = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


@dataclass(frozen=True)
class BackendOptions:
    """How to open a model: where it runs and how many CPU threads it may use."""

    device: str = "cpu"  # cpu | cuda | cuda:N
    num_threads: int | None = None  # None: the runtime's default
    half: bool = False  # fp16 inference where the runtime supports it
    busy_wait: bool = True  # ONNX Runtime's workers spin between the ops of a run (faster)
    # callers that will run the model at once (one per camera, up to the cores): ONNX Runtime on
    # the CPU shares its threads out among them; other runtimes run one frame at a time
    concurrent_runs: int = 1

    def __post_init__(self) -> None:
        if not _DEVICE.match(self.device):
            raise SettingError(f"device must be cpu, cuda or cuda:N, not {self.device!r}")
        if self.num_threads is not None and self.num_threads < 1:
            raise SettingError(f"num_threads must be at least 1, not {self.num_threads}")
        if self.concurrent_runs < 1:
            raise SettingError(f"concurrent_runs must be at least 1, not {self.concurrent_runs}")

    @property
    def gpu_index(self) -> int | None:
        """The CUDA device index, or None for the CPU."""
        match = _DEVICE.match(self.device)
        assert match is not None  # checked in __post_init__
        kind, index = match.groups()
        return None if kind == "cpu" else int(index or 0)


@dataclass(frozen=True)
class InputSpec:
    """The network input: (height, width) when fixed, None for a dynamic size; the frames it
    takes at once: 1, a fixed N (``odet export --batch N``), or 0 for any number (dynamic)."""

    hw: tuple[int, int] | None
    layout: str = "nchw"  # nchw | nhwc
    dtype: np.dtype = _FLOAT32  # what the letterboxer writes (float32, float16; uint8 pixels)
    batch: int = 1
    resize: str = LETTERBOX  # letterbox (YOLO) | stretch (TensorFlow's detectors)
    pixel_range: tuple[float, float] = (0.0, 1.0)  # float inputs: what pixels 0 and 255 become


class InferenceBackend(Protocol):
    """An opened model: one input tensor in, its first output tensor out."""

    name: str  # the backend's name, as `backend=` takes it
    path: Path
    input: InputSpec
    metadata: dict[str, Any]  # metadata embedded in the model ({} when none)
    stride: int | None  # set when the input may be any stride-aligned rectangle (.pt)
    output_kind: str | None  # the output format where the graph shows it, else None
    concurrent_runs: int  # threads that may call run() at once (1: one call at a time)

    def run(self, tensor: np.ndarray) -> np.ndarray:
        """Run the network on a prepared input tensor; return the detection output."""
        ...

    def run_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Run the network; every output, the detection output first (a segmentation model's
        prototypes second)."""
        ...

    def box_units(self, kind: str) -> str | None:
        """The box units this format's exports use for an output kind, None if unknown."""
        ...


def input_layout(shape: tuple[int, ...], path: Path) -> tuple[str, tuple[int, int] | None]:
    """(layout, (h, w) or None) of a 4-d image input: NCHW when dim 1 is 3, NHWC when dim 3 is."""
    if len(shape) == 4 and shape[1] == 3:
        layout, hw = "nchw", shape[2:4]
    elif len(shape) == 4 and shape[3] == 3:
        layout, hw = "nhwc", shape[1:3]
    else:
        raise ModelError(f"{path}: input shape {list(shape)} is not a 3-channel image batch")
    static = all(isinstance(v, int) and v > 0 for v in hw)
    return layout, (int(hw[0]), int(hw[1])) if static else None
