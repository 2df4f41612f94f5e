"""The formats of ``odet export``: what each asks of Ultralytics and what it needs installed.

Kept apart from :mod:`.export` so that the CLI can list them without importing the toolchains.
"""

from __future__ import annotations

from dataclasses import dataclass

from odet_ros.detection.decode import NORMALIZED, PIXELS

# module -> pip package
PIP_NAMES = {
    "onnx": "onnx",
    "onnxslim": "onnxslim",
    "litert_torch": "litert-torch",
    "ai_edge_litert": "ai-edge-litert",
    "ai_edge_quantizer": "ai-edge-quantizer",
    "tensorrt": "tensorrt",
}


@dataclass(frozen=True)
class ExportFormat:
    """One ``--format``: how Ultralytics is asked for it and what the result looks like."""

    name: str
    ultralytics: str  # Ultralytics' format argument
    suffix: str  # of the model file
    raw_box_units: str  # units of a raw head's boxes in the exported model
    modules: tuple[str, ...]  # Python packages it needs
    quantize: str | None = None  # Ultralytics' quantize argument
    calibrated: bool = False  # odet quantises the float export to int8 on calibration images
    onnx_based: bool = False  # takes --opset/--dynamic/--simplify


LITERT = ("litert_torch", "ai_edge_litert")
FORMATS = {
    f.name: f
    for f in (
        ExportFormat("onnx", "onnx", ".onnx", PIXELS, ("onnx",), onnx_based=True),
        ExportFormat("tflite", "litert", ".tflite", NORMALIZED, LITERT),
        ExportFormat(
            "tflite-int8",
            "litert",
            ".tflite",
            NORMALIZED,
            (*LITERT, "ai_edge_quantizer"),
            calibrated=True,
        ),
        ExportFormat(
            "tflite-int8-weights",
            "litert",
            ".tflite",
            NORMALIZED,
            (*LITERT, "ai_edge_quantizer"),
            quantize="w8a32",
        ),
        ExportFormat("deepstream", "onnx", ".onnx", PIXELS, ("onnx",), onnx_based=True),
        ExportFormat("engine", "engine", ".engine", PIXELS, ("onnx", "tensorrt"), onnx_based=True),
    )
}
