"""LiteRT (TFLite) backend: float32, float16 and int8/uint8 models, NCHW or NHWC input.

The interpreter comes from ``ai_edge_litert`` (Python 3.10-3.14, x86_64 and aarch64), else
``tflite_runtime`` (stops at 2.14 / Python 3.11), else full TensorFlow. Their default op resolver
applies the XNNPACK delegate to float and int8 graphs, using ``num_threads`` threads. With
``concurrent_runs`` (several cameras on a CPU) each run gets an interpreter of its own and the
threads are shared out, as for ONNX: two single-thread interpreters at once took 0.93-0.94 of the
time of one two-thread interpreter running the same frames back to back (YOLO11n 320, 2 cores,
bench/batching.py). Ultralytics' LiteRT exports fix their batch at one frame, so LiteRT never
batches.

Two kinds of graph: YOLO heads (Ultralytics, YOLOv5: one output, letterboxed input scaled to
0-1) and TensorFlow's post-processed detectors (SSD, EfficientDet-Lite: four outputs, see
:mod:`..postprocess`; input stretched to size, uint8 pixels or floats in -1..1). Graphs the
plain runtime cannot run get a message saying what they need: an Edge TPU and its delegate
(``edgetpu-custom-op``), or TensorFlow's own interpreter (Flex ops, as YOLOv5's ``--nms``).
"""

from __future__ import annotations

import ctypes
import importlib
import os
import queue
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from odet_ros.detection.backends.base import BackendOptions, InputSpec, input_layout
from odet_ros.detection.decode import NMS, NORMALIZED, PIXELS, RAW, YOLOV5
from odet_ros.detection.errors import MetadataError, ModelError, OutputLayoutError
from odet_ros.detection.letterbox import STRETCH
from odet_ros.detection.metadata import read_tflite_metadata
from odet_ros.detection.postprocess import FourOutputs, OutputTensor, identify, is_four_output, pack

# (module, attribute) of each interpreter, in order of preference
INTERPRETERS = (
    ("ai_edge_litert.interpreter", "Interpreter"),
    ("tflite_runtime.interpreter", "Interpreter"),
    ("tensorflow.lite.python.interpreter", "Interpreter"),  # tf.lite.Interpreter
)
_QUANTIZED = (np.int8, np.uint8, np.int16)
EDGE_TPU_OP = b"edgetpu-custom-op"
EDGE_TPU_LIBRARY = "libedgetpu.so.1"
TENSORFLOW_INTERPRETER = INTERPRETERS[-1]
TENSORFLOW_RANGE = (-1.0, 1.0)  # what TensorFlow's float detectors expect of pixels 0-255


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
    """An interpreter per concurrent run (an interpreter runs one frame at a time); (de)quantizes
    input and output where the graph's I/O is integer."""

    name = "litert"
    stride = None

    def __init__(self, path: Path, options: BackendOptions) -> None:
        self.path = path
        try:
            self.metadata = read_tflite_metadata(path)
        except MetadataError as error:
            raise ModelError(f"{path}: {error}") from error
        # an Edge TPU runs one model at a time
        self.concurrent_runs = 1 if EDGE_TPU_OP in path.read_bytes() else options.concurrent_runs
        if self.concurrent_runs > 1:
            threads = (options.num_threads or os.cpu_count() or 1) // self.concurrent_runs
            options = replace(options, num_threads=max(1, threads))
        self._interpreter = _open_interpreter(path, options)
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()  # interpreters not running
        for _ in range(self.concurrent_runs - 1):
            self._idle.put(_open_interpreter(path, options))
        self._idle.put(self._interpreter)
        model_input = self._interpreter.get_input_details()[0]
        outputs = self._interpreter.get_output_details()
        self._outputs = outputs
        self._details = {int(d["index"]): d for d in outputs}
        self._output = outputs[0]
        self._four = self._four_outputs(outputs)
        self.output_kind = NMS if self._four else None
        layout, hw = input_layout(tuple(int(v) for v in model_input["shape"]), path)
        self._input_index = model_input["index"]
        self._input_dtype = np.dtype(model_input["dtype"])
        self._input_quantization = model_input["quantization"]
        if self._four is not None:  # TensorFlow's detectors: stretched, uint8 pixels or -1..1
            dtype = np.uint8 if self._input_dtype == np.uint8 else np.float32
            self.input = InputSpec(
                hw, layout, np.dtype(dtype), resize=STRETCH, pixel_range=TENSORFLOW_RANGE
            )
        else:
            float_dtype = np.float16 if self._input_dtype == np.float16 else np.float32
            self.input = InputSpec(hw, layout, np.dtype(float_dtype))

    def _four_outputs(self, details: list[dict[str, Any]]) -> FourOutputs | None:
        outputs = [
            OutputTensor(d["index"], d["name"], tuple(int(v) for v in d["shape"])) for d in details
        ]
        if not is_four_output(outputs):
            return None
        try:
            return identify(outputs, _op_outputs(self._interpreter))
        except OutputLayoutError as error:
            raise ModelError(f"{self.path}: {error}") from error

    def run(self, tensor: np.ndarray) -> np.ndarray:
        if self._four is not None:
            roles = self._four
            indices = (roles.boxes, roles.classes, roles.scores, roles.count)
            return pack(dict(zip(indices, self._invoke(tensor, indices), strict=True)), roles)
        return self._invoke(tensor, [self._output["index"]])[0]

    def run_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        return self._invoke(tensor, [output["index"] for output in self._outputs])

    def _invoke(self, tensor: np.ndarray, outputs: Sequence[int]) -> list[np.ndarray]:
        """The ``outputs`` (tensor indices) of one run, on an interpreter no other run holds."""
        if tensor.dtype != self._input_dtype and self._input_dtype in _QUANTIZED:
            tensor = _quantize(tensor, self._input_dtype, *self._input_quantization)
        interpreter = self._idle.get()
        try:
            interpreter.set_tensor(self._input_index, tensor)
            interpreter.invoke()
            return [self._read(interpreter, index) for index in outputs]
        finally:
            self._idle.put(interpreter)

    def _read(self, interpreter: Any, index: int) -> np.ndarray:
        # One interpreter: a view of its buffer, no copy (valid until its next invoke, and the
        # detector is done with it by then). Several: a copy, as another run may take this
        # interpreter as soon as it is put back.
        output: np.ndarray = interpreter.tensor(index)()
        details = self._details[index]
        if output.dtype in _QUANTIZED:
            scale, zero_point = details["quantization"]
            dequantized: np.ndarray = (output.astype(np.float32) - zero_point) * np.float32(scale)
            return dequantized
        if output.dtype != np.float32:
            return output.astype(np.float32)
        return output.copy() if self.concurrent_runs > 1 else output

    def box_units(self, kind: str) -> str | None:
        """Ultralytics LiteRT exports normalise raw-head boxes (so int8 keeps score resolution);
        litert-torch end-to-end outputs stay in pixels, older onnx2tf (NHWC) ones are normalised.
        YOLOv5's TFLite exports and TensorFlow's post-processed detectors normalise."""
        if self._four is not None or kind == YOLOV5:
            return NORMALIZED
        if not self.metadata:
            return None
        if kind == RAW or self.input.layout == "nhwc":
            return NORMALIZED
        return PIXELS


def _open_interpreter(path: Path, options: BackendOptions) -> Any:
    """An interpreter with its tensors allocated, or a ModelError saying what the model needs."""
    delegates = _edge_tpu_delegates(path)
    interpreter = interpreter_class()
    try:
        return _allocated(interpreter, path, options, delegates)
    except (ValueError, RuntimeError) as error:
        if "Select TensorFlow op" not in str(error):
            raise ModelError(f"{path}: cannot load the TFLite model: {error}") from error
        flex = error
    try:  # TensorFlow's own interpreter links the Flex ops in
        module, attribute = TENSORFLOW_INTERPRETER
        tensorflow = getattr(importlib.import_module(module), attribute)
    except ImportError:
        raise ModelError(
            f"{path}: uses TensorFlow ops (Flex: YOLOv5's export --nms puts its NMS there) that"
            " only TensorFlow's own interpreter runs, and tensorflow is not installed: export"
            " without --nms (odet runs NMS itself), or pip install tensorflow"
        ) from flex
    try:
        return _allocated(tensorflow, path, options, [])
    except (ValueError, RuntimeError) as error:
        raise ModelError(f"{path}: cannot load the TFLite model: {error}") from error


def _allocated(
    interpreter: Callable[..., Any], path: Path, options: BackendOptions, delegates: list[Any]
) -> Any:
    loaded = interpreter(
        model_path=str(path),
        num_threads=options.num_threads,
        experimental_delegates=delegates or None,
    )
    loaded.allocate_tensors()
    return loaded


def _edge_tpu_delegates(path: Path) -> list[Any]:
    """The Edge TPU delegate for a model compiled for it (its graph is one
    ``edgetpu-custom-op``), [] for any other model; a ModelError where no delegate loads."""
    if EDGE_TPU_OP not in path.read_bytes():
        return []
    try:
        # the library alone first: load_delegate's half-made Delegate, when the library is
        # missing, raises again as it is collected (an unraisable-exception warning)
        ctypes.CDLL(EDGE_TPU_LIBRARY)
        module = importlib.import_module(INTERPRETERS[0][0])
        return [module.load_delegate(EDGE_TPU_LIBRARY)]
    except (ImportError, ValueError, OSError, RuntimeError) as error:
        raise ModelError(
            f"{path}: compiled for the Edge TPU (edgetpu-custom-op), and no Edge TPU delegate"
            f" loads here ({EDGE_TPU_LIBRARY}: {error}): plug in a Coral device with libedgetpu"
            " installed, or run the .tflite the Edge TPU compiler was given (not *_edgetpu.tflite)"
            " on the CPU"
        ) from error


def _op_outputs(interpreter: Any) -> dict[str, list[int]]:
    """Each op's output tensor indices by op name (the post-process op's tell which is which)."""
    try:
        ops = interpreter._get_ops_details()
    except AttributeError:  # an interpreter without the (private) listing
        return {}
    return {str(op["op_name"]): [int(i) for i in op["outputs"]] for op in ops}


def _quantize(tensor: np.ndarray, dtype: np.dtype, scale: float, zero_point: int) -> np.ndarray:
    limits = np.iinfo(dtype)
    q = np.rint(tensor / np.float32(scale)) + zero_point
    quantized: np.ndarray = np.clip(q, limits.min, limits.max).astype(dtype)
    return quantized


def open_model(path: Path, options: BackendOptions) -> LiteRTBackend:
    return LiteRTBackend(path, options)
