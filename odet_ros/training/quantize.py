"""Static int8 quantisation of a float LiteRT model, with the YOLO box decoding kept in float.

Int8 costs a YOLO detector its accuracy after its convolutions, not in them. The Detect head
ends by decoding: a softmax over each box side's distance distribution (DFL) and its expected
value, anchor arithmetic in pixels, the division by the input size, the concatenation of boxes
and class scores into the output. In int8 each of these tensors is rounded to 1/256 of its
range: the box coordinates of the demo model (256 px input, ranges up to ~2x the input size)
landed on a 2-pixel grid, which costs little at IoU 0.5 and much at IoU 0.95. These ~25
small operations (of ~350) stay in float, at next to no cost; every feature convolution, the
head's branches included, runs in int8.

Ranges are the min and max over all calibration images. ai-edge-quantizer's default is a moving
average (factor 0.95 per image), so its ranges describe the last ~20 images it was fed: with a
train split in recording order, the last sequence. The order alone moved the tiny model's drop
between 0.6 and 2.3 points; min/max does not depend on it.

Measured: mAP50-95 points lost against the TFLite fp32 model (odet's evaluation, COCO mode) and
speed-up over fp32 (interpreter time, 2 CPU cores). Tiny: the test/bench YOLO11n at 160 px on 96
unseen scenes; demo: ``odet demo``'s YOLO11n at 256 px on its 70-image test split (about +-0.5
point of noise). "Decoding": the head's own operations and all after them, as here.

| in float                  | ranges                 | tiny: drop, speed-up | demo: drop, speed-up |
| ------------------------- | ---------------------- | -------------------- | -------------------- |
| nothing                   | min/max                | 3.70, 2.8x           | 6.65, 2.8x           |
| Detect head (until now)   | moving average         | 2.64, 2.0x           | 3.30, 2.0x           |
| Detect head               | min/max                | 3.40, 2.0x           | 3.11, 2.0x           |
| the 2 ops after the head  | min/max                | 3.43, 2.8x           | 6.62, 2.9x           |
| Detect head and after     | min/max                | 0.51, 2.1x           | -0.49, 2.0x          |
| decoding                  | moving average, orders | 0.63 to 2.25, 3.1x   | -0.95 to -0.29, 2.9x |
| decoding (this recipe)    | min/max                | 0.12, 3.1x           | -0.62, 2.9x          |

Input and output stay float32, as in Ultralytics' int8 exports, so the detector feeds and reads
it like the fp32 model. The library is the one Ultralytics uses (ai-edge-quantizer); the float
model's ``metadata.json`` is carried over.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from odet_ros.detection.metadata import read_tflite_metadata
from odet_ros.training.errors import ExportError

log = logging.getLogger(__name__)

CHUNK = 32  # calibration images in memory at once (the calibrator lists its whole input)

# litert-torch names each tensor after the torch modules that made it. The Detect head's own
# operations (reshapes, DFL, box arithmetic), not those of its per-level convolution branches
# (ModuleLists of Sequentials): `_\d+` followed by `;` or by a submodule other than a container.
# A Segment head (a Detect with mask coefficients and a Proto network) decodes its boxes alike;
# its prototype convolutions are feature convolutions, in int8 as the rest.
DECODING = re.compile(
    r"\.head\.\w*(?:Detect|Segment)\w*_\d+"
    r"(?=;|/(?!torch\.nn\.modules\.container\.|ultralytics\.nn\.modules\.block\.Proto))"
)


@dataclass(frozen=True)
class Quantization:
    """What was quantised: the number of operations left in float (0: no YOLO head found)."""

    float_ops: int

    def describe(self) -> dict[str, object]:
        return {
            "scheme": "static int8 weights and activations, float32 input and output",
            "float_ops": self.float_ops,
            "kept_in_float": "YOLO box decoding and every operation after it",
            "ranges": "min/max over all calibration images",
        }


def quantize_int8(
    float_model: Path, destination: Path, samples: Iterable[NDArray[np.float32]]
) -> Quantization:
    """Calibrate ``float_model`` on ``samples`` (its input tensors) and write the int8 model."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import calibrator, qtyping, quantizer, recipe, recipe_manager
    from ai_edge_quantizer.utils import qsv_utils

    ((signature, io),) = Interpreter(model_path=str(float_model)).get_signature_list().items()
    (input_name,) = io["inputs"]  # litert-torch: one signature, one input
    keep_float = recipe.AlgorithmName.NO_QUANTIZE
    engine = quantizer.Quantizer(str(float_model))
    engine.load_quantization_recipe(recipe.static_wi8_ai8())
    for boundary in (qtyping.TFLOperationName.INPUT, qtyping.TFLOperationName.OUTPUT):
        engine.update_quantization_recipe(
            regex=".*", operation_name=boundary, algorithm_key=keep_float
        )
    scopes = decoding_scopes(float_model)
    if not scopes:
        log.warning("%s: no YOLO box decoding found by tensor name: every layer int8", float_model)
    else:
        engine.update_quantization_recipe(
            regex="^(?:" + "|".join(re.escape(scope) for scope in scopes) + ")$",
            operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
            algorithm_key=keep_float,
        )
    # Quantizer.calibrate keeps moving averages; its Calibrator takes the min/max update
    plan = recipe_manager.RecipeManager()
    plan.load_quantization_recipe(engine.get_quantization_recipe())
    calibration = calibrator.Calibrator(str(float_model), qsv_update_func=qsv_utils.min_max_update)
    calibrated = 0
    for chunk in _chunks(samples, CHUNK):
        calibration.calibrate({signature: [{input_name: sample} for sample in chunk]}, plan)
        calibrated += len(chunk)
    if not calibrated:
        raise ExportError(f"int8 calibration of {float_model.name}: no image could be read")
    result = engine.quantize(calibration_result=calibration.get_model_qsvs())
    result.export_model(str(destination), overwrite=True)
    metadata = read_tflite_metadata(float_model)
    if metadata:
        with zipfile.ZipFile(destination, "a", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("metadata.json", json.dumps(metadata))
    return Quantization(len(scopes))


def decoding_scopes(float_model: Path) -> list[str]:
    """The scopes (ai-edge-quantizer's operation names) of the head's box decoding and of every
    operation computed from it, in graph order."""
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils

    graph = tfl_flatbuffer_utils.read_model(str(float_model)).subgraphs[0]
    float_tensors: set[int] = set()
    scopes = []
    for op in graph.operators:  # stored in execution order: producers come first
        scope = tfl_flatbuffer_utils.get_op_scope(op, graph.tensors)
        if DECODING.search(scope) or float_tensors.intersection(op.inputs):
            float_tensors.update(op.outputs)
            scopes.append(scope)
    return scopes


def _chunks(
    samples: Iterable[NDArray[np.float32]], size: int
) -> Iterator[list[NDArray[np.float32]]]:
    chunk: list[NDArray[np.float32]] = []
    for sample in samples:
        chunk.append(sample)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
