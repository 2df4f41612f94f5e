"""LiteRT (TFLite) backend: float32, float16 and int8/uint8 models, NCHW or NHWC input.

The interpreter comes from ``ai_edge_litert`` (Python 3.10-3.14, x86_64 and aarch64), else
``tflite_runtime`` (stops at 2.14 / Python 3.11), else full TensorFlow. Their default op resolver
applies the XNNPACK delegate to float and int8 graphs, using ``num_threads`` threads.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from odet_ros.detection.backends.base import BackendOptions, InputSpec, input_layout
from odet_ros.detection.decode import NORMALIZED, PIXELS, RAW
from odet_ros.detection.errors import MetadataError, ModelError
from odet_ros.detection.metadata import read_tflite_metadata

# (module, attribute) of each interpreter, in order of preference
INTERPRETERS = (
    ("ai_edge_litert.interpreter", "Interpreter"),
    ("tflite_runtime.interpreter", "Interpreter"),
    ("tensorflow.lite.python.interpreter", "Interpreter"),  # tf.lite.Interpreter
)
_QUANTIZED = (np.int8, np.uint8, np.int16)


def interpreter_class() -> Callable[..., Any]:
    """The first TFLite interpreter that imports."""
    for module, attribute in INTERPRETERS:
        try:
            interpreter: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
            return interpreter
        except ImportError:
            continue
    raise ModelError(
        "no TFLite runtime found: install ai-edge-litert (pip install ai-edge-litert),"
        " or tflite-runtime on Python <= 3.11"
    )


class LiteRTBackend:
    """One interpreter; (de)quantizes input and output where the graph's I/O is integer."""

    name = "litert"
    stride = None

    def __init__(self, path: Path, options: BackendOptions) -> None:
        self.path = path
        try:
            self.metadata = read_tflite_metadata(path)
        except MetadataError as error:
            raise ModelError(f"{path}: {error}") from error
        interpreter = interpreter_class()
        try:
            self._interpreter = interpreter(model_path=str(path), num_threads=options.num_threads)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"{path}: cannot load the TFLite model: {error}") from error
        model_input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        layout, hw = input_layout(tuple(int(v) for v in model_input["shape"]), path)
        self._input_index = model_input["index"]
        self._input_dtype = np.dtype(model_input["dtype"])
        self._input_quantization = model_input["quantization"]
        float_dtype = np.float16 if self._input_dtype == np.float16 else np.float32
        self.input = InputSpec(hw, layout, np.dtype(float_dtype))

    def run(self, tensor: np.ndarray) -> np.ndarray:
        if self._input_dtype in _QUANTIZED:
            tensor = _quantize(tensor, self._input_dtype, *self._input_quantization)
        self._interpreter.set_tensor(self._input_index, tensor)
        self._interpreter.invoke()
        # a view of the interpreter's buffer, no copy: valid until the next invoke, and the
        # detector is done with it by then
        output: np.ndarray = self._interpreter.tensor(self._output["index"])()
        if output.dtype in _QUANTIZED:
            scale, zero_point = self._output["quantization"]
            dequantized: np.ndarray = (output.astype(np.float32) - zero_point) * np.float32(scale)
            return dequantized
        return output if output.dtype == np.float32 else output.astype(np.float32)

    def box_units(self, kind: str) -> str | None:
        """Ultralytics LiteRT exports normalise raw-head boxes (so int8 keeps score resolution);
        litert-torch end-to-end outputs stay in pixels, older onnx2tf (NHWC) ones are normalised."""
        if not self.metadata:
            return None
        if kind == RAW or self.input.layout == "nhwc":
            return NORMALIZED
        return PIXELS


def _quantize(tensor: np.ndarray, dtype: np.dtype, scale: float, zero_point: int) -> np.ndarray:
    limits = np.iinfo(dtype)
    q = np.rint(tensor / np.float32(scale)) + zero_point
    quantized: np.ndarray = np.clip(q, limits.min, limits.max).astype(dtype)
    return quantized


def open_model(path: Path, options: BackendOptions) -> LiteRTBackend:
    return LiteRTBackend(path, options)
