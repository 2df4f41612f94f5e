"""Build test/data/brightness_model.onnx: a two-anchor "detector" for testing node wiring.

It has the layout of an Ultralytics YOLO ONNX export (input ``images`` [1, 3, 64, 64], output
``output0`` [1, 4 + 2, 2], metadata ``names``/``imgsz``/``stride``), but no learned weights: anchor
0 is a fixed box whose class-0 score is the image's mean brightness, anchor 1 a box that never
scores. So a bright frame yields one box and a dark one none, on machines without PyTorch (a ROS
robot). Run with the dev environment (needs ``onnx``) to rebuild the file.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).with_name("brightness_model.onnx")
SIZE = 64
# Rows cx, cy, w, h; columns anchors: a 32x32 box in the middle, and a small one at (8, 8).
BOXES = np.array([[[32, 8], [32, 8], [32, 4], [32, 4]]], np.float32)


def build() -> onnx.ModelProto:
    mean = helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=0)
    score = helper.make_node("Reshape", ["mean", "shape_1x1x1"], ["score"])
    row = helper.make_node("Concat", ["score", "zero"], ["class0"], axis=2)
    scores = helper.make_node("Concat", ["class0", "zeros_row"], ["scores"], axis=1)
    out = helper.make_node("Concat", ["boxes", "scores"], ["output0"], axis=1)
    initializers = [
        numpy_helper.from_array(np.array([1, 1, 1], np.int64), "shape_1x1x1"),
        numpy_helper.from_array(np.zeros((1, 1, 1), np.float32), "zero"),
        numpy_helper.from_array(np.zeros((1, 1, 2), np.float32), "zeros_row"),
        numpy_helper.from_array(BOXES, "boxes"),
    ]
    graph = helper.make_graph(
        [mean, score, row, scores, out],
        "brightness",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, 2])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    for key, value in {
        "names": "{0: 'bright', 1: 'never'}",
        "imgsz": f"[{SIZE}, {SIZE}]",
        "stride": "32",
        "task": "detect",
        "description": "odet_ros test model: scores the image's mean brightness",
    }.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    onnx.save(build(), OUT)
    print(f"wrote {OUT}")
