"""TensorRT backend for ``.engine`` files (Jetson), with the CUDA runtime from ``cuda-python``.

Ultralytics writes a JSON metadata header before the serialized plan (see
:func:`~odet_ros.detection.metadata.read_engine_header`); a bare ``trtexec`` plan loads too but
then needs a bundle for its class names. An engine is bound to the GPU and TensorRT version that
built it. Uses the named-tensor API of TensorRT >= 8.5 (JetPack 5.1 and later).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from odet_ros.detection.backends.base import BackendOptions, InputSpec, input_layout
from odet_ros.detection.decode import PIXELS
from odet_ros.detection.errors import ModelError
from odet_ros.detection.metadata import read_engine_header


def _import_runtime(path: Path) -> tuple[Any, Any]:
    try:
        import tensorrt as trt
    except ImportError:
        raise ModelError(
            f"{path}: the TensorRT backend needs the tensorrt Python package (JetPack or"
            " pip install tensorrt); use the .onnx model on machines without it"
        ) from None
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError:
            raise ModelError(
                f"{path}: the TensorRT backend needs cuda-python (pip install cuda-python)"
            ) from None
    return trt, cudart


def _check(result: tuple[Any, ...], what: str) -> Any:
    error, *values = result
    if int(error) != 0:
        raise ModelError(f"CUDA {what} failed with error {int(error)}")
    return values[0] if values else None


class TensorRTBackend:
    """One execution context with device buffers for its input and first output."""

    name = "tensorrt"
    concurrent_runs = 1  # one interpreter state: one frame at a time
    output_kind = None
    stride = None

    def __init__(self, path: Path, options: BackendOptions) -> None:
        trt, self._cudart = _import_runtime(path)
        self.path = path
        offset, self.metadata = read_engine_header(path)
        cudart = self._cudart
        _check(cudart.cudaSetDevice(options.gpu_index or 0), "set device")
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        engine = runtime.deserialize_cuda_engine(path.read_bytes()[offset:])
        if engine is None:
            raise ModelError(
                f"{path}: TensorRT cannot deserialize this engine"
                " (built for another GPU or TensorRT version?)"
            )
        self._engine, self._context = engine, engine.create_execution_context()
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self._input_name, self._output_name = inputs[0], outputs[0]
        shape = tuple(engine.get_tensor_shape(self._input_name))
        if -1 in shape:  # dynamic: fix it to the optimisation profile's preferred shape
            shape = tuple(engine.get_tensor_profile_shape(self._input_name, 0)[1])
            self._context.set_input_shape(self._input_name, shape)
        layout, hw = input_layout(shape, path)
        in_dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(self._input_name)))
        self.input = InputSpec(hw, layout, in_dtype)
        self._host_outputs = {
            name: np.empty(
                tuple(self._context.get_tensor_shape(name)),
                np.dtype(trt.nptype(engine.get_tensor_dtype(name))),
            )
            for name in outputs
        }
        self._stream = _check(cudart.cudaStreamCreate(), "stream creation")
        self._buffers = {}
        for name in names:
            size = (
                int(np.prod(self._context.get_tensor_shape(name)))
                * np.dtype(trt.nptype(engine.get_tensor_dtype(name))).itemsize
            )
            self._buffers[name] = _check(cudart.cudaMalloc(size), "allocation")
            self._context.set_tensor_address(name, int(self._buffers[name]))

    def run(self, tensor: np.ndarray) -> np.ndarray:
        return self._execute(tensor, [self._output_name])[0]

    def run_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        return self._execute(tensor, list(self._host_outputs))

    def _execute(self, tensor: np.ndarray, names: list[str]) -> list[np.ndarray]:
        cudart = self._cudart
        tensor = np.ascontiguousarray(tensor)
        to_device = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        to_host = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(
            cudart.cudaMemcpyAsync(
                self._buffers[self._input_name],
                tensor.ctypes.data,
                tensor.nbytes,
                to_device,
                self._stream,
            ),
            "copy to device",
        )
        if not self._context.execute_async_v3(int(self._stream)):
            raise ModelError(f"{self.path}: TensorRT inference failed")
        for name in names:
            out = self._host_outputs[name]
            _check(
                cudart.cudaMemcpyAsync(
                    out.ctypes.data, self._buffers[name], out.nbytes, to_host, self._stream
                ),
                "copy to host",
            )
        _check(cudart.cudaStreamSynchronize(self._stream), "synchronize")
        return [self._host_outputs[name].astype(np.float32) for name in names]

    def box_units(self, kind: str) -> str | None:
        return PIXELS

    def __del__(self) -> None:
        for pointer in getattr(self, "_buffers", {}).values():
            self._cudart.cudaFree(pointer)


def open_model(path: Path, options: BackendOptions) -> TensorRTBackend:
    return TensorRTBackend(path, options)
