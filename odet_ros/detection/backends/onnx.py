"""ONNX Runtime backend: CPU everywhere, the CUDA and TensorRT execution providers on a GPU."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from odet_ros.detection.backends.base import BackendOptions, InputSpec, input_layout
from odet_ros.detection.decode import PIXELS
from odet_ros.detection.errors import ModelError

log = logging.getLogger(__name__)

_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
TRT_CACHE = Path.home() / ".cache" / "odet_ros" / "tensorrt"


def execution_providers(options: BackendOptions, available: list[str]) -> list[Any]:
    """Providers to try, best first: TensorRT, then CUDA, for a cuda device; always CPU last."""
    index = options.gpu_index
    providers: list[Any] = []
    if index is not None:
        if "TensorrtExecutionProvider" in available:
            providers.append(
                (
                    "TensorrtExecutionProvider",
                    {
                        "device_id": index,
                        "trt_fp16_enable": options.half,
                        "trt_engine_cache_enable": True,  # build the engine once, not every start
                        "trt_engine_cache_path": str(TRT_CACHE),
                    },
                )
            )
        if "CUDAExecutionProvider" in available:
            providers.append(("CUDAExecutionProvider", {"device_id": index}))
        if not providers:
            log.warning(
                "device %s requested but onnxruntime has no GPU provider (%s): running on the CPU",
                options.device,
                ", ".join(available),
            )
    providers.append("CPUExecutionProvider")
    return providers


def session_options(options: BackendOptions, cpu_only: bool = True) -> ort.SessionOptions:
    """Full graph optimisation and the thread count asked for (default: one per physical core).

    With ``concurrent_runs`` on the CPU the threads are shared out: each run gets
    ``num_threads // concurrent_runs`` (at least one). Several single-thread runs of a small
    model fill the cores better than one run split across them: YOLO11n 320, 2 and 4 frames on
    2 cores, concurrent one-thread runs took 0.64-0.68 of the time of the frames back to back on
    two threads (bench/batching.py).

    With ``busy_wait`` (the default) worker threads spin between the ops of a run, which is what
    buys latency, and stop spinning when the run ends (``session.force_spinning_stop``), so a
    camera-paced detector does not hold the cores between frames: at 15 Hz, YOLO11n 320 on 2
    cores, 0.4 cores instead of ORT's default 1.0, at the same latency (bench/detection.py).
    ``busy_wait`` off never spins: about the same CPU, 1.2x the latency.
    """
    settings = ort.SessionOptions()
    settings.log_severity_level = 3  # errors only: ORT warns about every unused initializer
    settings.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    threads = options.num_threads
    if cpu_only and options.concurrent_runs > 1:
        threads = max(1, (threads or os.cpu_count() or 1) // options.concurrent_runs)
    if threads:
        settings.intra_op_num_threads = threads
    if options.busy_wait:
        settings.add_session_config_entry("session.force_spinning_stop", "1")
    else:
        settings.add_session_config_entry("session.intra_op.allow_spinning", "0")
        settings.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return settings


DEFAULT_STRIDE = 32  # the largest YOLO head stride, when a dynamic model does not say


class OnnxBackend:
    """One ``InferenceSession``; the input tensor goes in as the letterboxer wrote it.

    A dynamic-shape model gets the smallest stride-aligned rectangle around each frame, as a
    ``.pt`` does: a 640x480 camera at imgsz 320 runs at 320x256, a fifth less work than 320x320.
    """

    name = "onnxruntime"
    output_kind = None

    def __init__(self, path: Path, options: BackendOptions) -> None:
        self.path = path
        providers = execution_providers(options, ort.get_available_providers())
        cpu_only = providers == ["CPUExecutionProvider"]
        # a session's run() is thread-safe; on a GPU the runs queue on the device anyway
        self.concurrent_runs = options.concurrent_runs if cpu_only else 1
        try:
            self._session = ort.InferenceSession(
                str(path), session_options(options, cpu_only), providers=providers
            )
        except Exception as error:  # onnxruntime raises its own pybind exception types
            raise ModelError(f"{path}: cannot load the ONNX model: {error}") from error
        model_input = self._session.get_inputs()[0]
        layout, hw = input_layout(tuple(model_input.shape), path)
        dtype = _DTYPES.get(model_input.type)
        if dtype is None:
            raise ModelError(f"{path}: input type {model_input.type} is not float32 or float16")
        batch = model_input.shape[0]
        self.input = InputSpec(hw, layout, np.dtype(dtype), batch if isinstance(batch, int) else 0)
        self._input_name = model_input.name
        self._output_names = [self._session.get_outputs()[0].name]
        self._all_outputs = [output.name for output in self._session.get_outputs()]
        self.metadata = dict(self._session.get_modelmeta().custom_metadata_map)
        self.stride = None if hw else _stride(self.metadata, path)
        self.providers = self._session.get_providers()

    def run(self, tensor: np.ndarray) -> np.ndarray:
        output: np.ndarray = self._session.run(self._output_names, {self._input_name: tensor})[0]
        return output if output.dtype == np.float32 else output.astype(np.float32)

    def run_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        outputs = self._session.run(self._all_outputs, {self._input_name: tensor})
        return [np.asarray(output, np.float32) for output in outputs]

    def box_units(self, kind: str) -> str | None:
        return PIXELS  # Ultralytics ONNX exports give raw and NMS boxes in input pixels


def _stride(metadata: dict[str, str], path: Path) -> int:
    """The stride a dynamic input must be a multiple of: Ultralytics' metadata, else 32."""
    value = metadata.get("stride", str(DEFAULT_STRIDE))
    try:
        stride = int(float(value))
    except ValueError:
        stride = 0
    if stride < 1:
        raise ModelError(f"{path}: metadata stride {value!r} is not a positive integer")
    return stride


def open_model(path: Path, options: BackendOptions) -> OnnxBackend:
    return OnnxBackend(path, options)
