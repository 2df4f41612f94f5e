"""A DeepStream package for a Jetson: ONNX, labels.txt and an ``nvinfer`` config.

DeepStream builds the TensorRT engine itself on the Jetson (an engine is bound to the GPU and
TensorRT version that built it, and Ultralytics' ``.engine`` carries a JSON header nvinfer cannot
read). nvinfer has no parser for the raw YOLO head, so the ONNX gets the output layout of the
community parser ``NvDsInferParseYolo`` (marcoslucianops/DeepStream-Yolo, as its
``utils/export_yolo11.py`` writes): one tensor ``output`` of shape [batch, anchors, 6] holding x1,
y1, x2, y2 (network-input pixels), the best class score and that class's index as a float. The
nodes that make it are appended to Ultralytics' ONNX graph; nvinfer then clusters with NMS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUTPUT = "output"
LABELS_FILE = "labels.txt"
CONFIG_FILE = "config_infer_primary.txt"
README_FILE = "README.txt"
PARSER_FUNCTION = "NvDsInferParseYolo"
PARSER_LIBRARY = "nvdsinfer_custom_impl_Yolo/libnvdsinfer_custom_impl_Yolo.so"
DEFAULT_OPSET = 17  # TensorRT 8.5 (JetPack 5.1) parses ONNX opsets up to 17
PRECISIONS = {"fp32": 0, "int8": 1, "fp16": 2}  # nvinfer network-mode


def write_deepstream_package(
    onnx_model: Path,
    folder: Path,
    names: list[str],
    *,
    conf: float = 0.25,
    iou: float = 0.7,
    precision: str = "fp16",
) -> list[Path]:
    """Write ``<stem>_deepstream.onnx``, labels.txt, config_infer_primary.txt and README.txt into
    ``folder`` for the raw-head ONNX ``onnx_model``; returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{onnx_model.stem}_deepstream.onnx"
    add_deepstream_output(onnx_model, model)
    labels = folder / LABELS_FILE
    labels.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    config = folder / CONFIG_FILE
    config.write_text(
        nvinfer_config(model.name, len(names), conf=conf, iou=iou, precision=precision),
        encoding="utf-8",
    )
    readme = folder / README_FILE
    readme.write_text(_readme(model.name), encoding="utf-8")
    return [model, labels, config, readme]


def add_deepstream_output(source: Path, destination: Path) -> None:
    """Copy the ONNX model ``source`` (output ``[1, 4+nc, A]``: cx, cy, w, h, class scores) to
    ``destination`` with the single output ``[1, A, 6]``: x1, y1, x2, y2, score, class."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    if len(graph.output) != 1:
        raise ValueError(f"{source}: expected the raw YOLO head alone, not {len(graph.output)}")
    head = graph.output.pop()
    batch, _, anchors = (d.dim_param or d.dim_value for d in head.type.tensor_type.shape.dim)
    slices = {"xy": (0, 2), "wh": (2, 4), "classes": (4, np.iinfo(np.int64).max)}  # last axis
    constants = {"axis": [2], "k": [1]}
    for name, (start, end) in slices.items():
        constants |= {f"{name}_start": [start], f"{name}_end": [end]}
    for name, values in constants.items():
        graph.initializer.append(numpy_helper.from_array(np.array(values, np.int64), f"ds_{name}"))
    graph.initializer.append(numpy_helper.from_array(np.array([0.5], np.float32), "ds_half"))
    node = helper.make_node
    graph.node.extend(
        [
            node("Transpose", [head.name], ["ds_rows"], perm=[0, 2, 1]),
            *(
                node("Slice", ["ds_rows", f"ds_{n}_start", f"ds_{n}_end", "ds_axis"], [f"ds_{n}_v"])
                for n in slices
            ),
            node("Mul", ["ds_wh_v", "ds_half"], ["ds_half_wh"]),
            node("Sub", ["ds_xy_v", "ds_half_wh"], ["ds_top_left"]),
            node("Add", ["ds_xy_v", "ds_half_wh"], ["ds_bottom_right"]),
            node("TopK", ["ds_classes_v", "ds_k"], ["ds_score", "ds_index"], axis=-1),
            node("Cast", ["ds_index"], ["ds_class"], to=TensorProto.FLOAT),
            node(
                "Concat",
                ["ds_top_left", "ds_bottom_right", "ds_score", "ds_class"],
                [OUTPUT],
                axis=2,
            ),
        ]
    )
    output = helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [batch, anchors, 6])
    graph.output.append(output)
    onnx.checker.check_model(model)
    onnx.save(model, str(destination))


def nvinfer_config(
    onnx_file: str, num_classes: int, *, conf: float, iou: float, precision: str
) -> str:
    """The ``[property]`` and ``[class-attrs-all]`` groups of an nvinfer primary detector."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    properties = {
        "gpu-id": 0,
        "net-scale-factor": 0.0039215697906911373,  # 1/255: pixels to 0-1, as Ultralytics
        "model-color-format": 0,  # RGB
        "onnx-file": onnx_file,
        "model-engine-file": f"{onnx_file}_b1_gpu0_{precision}.engine",  # nvinfer's own name
        "labelfile-path": LABELS_FILE,
        "batch-size": 1,
        "network-mode": PRECISIONS[precision],
        "num-detected-classes": num_classes,
        "interval": 0,
        "gie-unique-id": 1,
        "process-mode": 1,  # primary detector on full frames
        "network-type": 0,  # detector
        "cluster-mode": 2,  # NMS
        "maintain-aspect-ratio": 1,  # letterbox...
        "symmetric-padding": 1,  # ...centred, as Ultralytics
        "output-blob-names": OUTPUT,
        "parse-bbox-func-name": PARSER_FUNCTION,
        "custom-lib-path": PARSER_LIBRARY,
    }
    classes = {"nms-iou-threshold": iou, "pre-cluster-threshold": conf, "topk": 300}
    lines = ["[property]", *(f"{k}={v}" for k, v in properties.items()), "", "[class-attrs-all]"]
    lines += [f"{k}={v}" for k, v in classes.items()]
    return "\n".join(lines) + "\n"


def _readme(onnx_file: str) -> str:
    return f"""DeepStream package written by `odet export --format deepstream`.

{onnx_file}        the detector; output "output" [batch, anchors, 6]:
                   x1, y1, x2, y2 (network-input pixels), score, class
{LABELS_FILE}           class names, one per line, in class-index order
{CONFIG_FILE}  nvinfer config (primary detector, NMS clustering)

On the Jetson:
1. Build the parser library of https://github.com/marcoslucianops/DeepStream-Yolo
   (CUDA_VER=<your CUDA> make -C nvdsinfer_custom_impl_Yolo) and point custom-lib-path at
   its libnvdsinfer_custom_impl_Yolo.so (a version whose NvDsInferParseYolo reads one
   [anchors, 6] output of x1, y1, x2, y2, score, class).
2. Use {CONFIG_FILE} as the config-file of your nvinfer element (deepstream-app:
   [primary-gie] config-file=...). The first run builds the TensorRT engine for this GPU and
   saves it as model-engine-file; later runs load it.
3. DeepStream pads the letterbox with black where Ultralytics pads with grey (114): expect
   small score differences against `odet eval` of the .onnx model in the bundle.
"""
