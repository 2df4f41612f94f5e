"""The models other toolchains make, run through our detector and held to each tool's own
inference on the same files (support/toolchains.py builds them with the tools' own code):
YOLOv5's ONNX and TFLite exports against its detect.py pipeline, TensorFlow's SSD with the
detection post-process op against TensorFlow's interpreter, its outputs in either order and its
classes named by any of the label maps teams ship. Then the paths a team takes with them:
`odet detect`, `odet eval --compare`, `odet deploy` of a bare file, `odet bag select`, and the
messages for what cannot run here (a YOLOv5 .pt without its package, an Edge TPU file).

Runs wherever the cache exists (the robot profiles read the stored predictions)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess

import cv2
import numpy as np
import pytest
import yaml
from support.detection import assert_same
from support.models import NAMES
from support.toolchains import (
    LABELMAP,
    RECIPE,
    REFERENCE_IOU,
    ROUNDED_INPUT,
    SSD_MODELS,
    YOLOV5_MODELS,
    conf_for,
    toolchains_python,
)

from odet_ros.cli.main import main
from odet_ros.detection import Detections, ModelError, load_detector
from odet_ros.detection.backends.litert import interpreter_class
from odet_ros.detection.decode import NMS, NORMALIZED, YOLOV5

pytestmark = pytest.mark.slow  # the toolchain models are built on first use

EXPORTS = [name for name in YOLOV5_MODELS if not name.endswith(".pt")]
PIXEL = 1.0  # boxes within 1 px of the tool's
SCORE = 1e-3  # scores within 1e-3 of the tool's


def _check_all(detector, toolchain_models, reference_name: str) -> int:
    reference = toolchain_models.reference(reference_name)
    found = 0
    for path in toolchain_models.images:
        ours = detector.detect(cv2.imread(str(path)))
        assert_same(ours, reference[path.name], f"{reference_name} on {path.name}", PIXEL, SCORE)
        found += len(ours)
    return found


def _imgsz(name: str) -> int | None:
    """A dynamic YOLOv5 ONNX records no input size: given as a user gives it (--imgsz)."""
    return RECIPE["yolov5"]["imgsz"] if "dynamic" in name else None


@pytest.mark.parametrize("name", EXPORTS)
def test_yolov5_exports_find_what_yolov5_detect_finds(toolchain_models, name):
    detector = load_detector(
        toolchain_models.model(name),
        conf=conf_for(name),
        iou=REFERENCE_IOU,
        max_det=300,
        imgsz=_imgsz(name),
    )
    assert detector.output_format.kind == YOLOV5
    assert detector.names == NAMES  # ONNX metadata; labelmap.txt beside the TFLite files
    assert _check_all(detector, toolchain_models, YOLOV5_MODELS[name]) >= 3


def _truncated(tensor: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """A uint8 input as YOLOv5's DetectMultiBackend makes it from x = pixels / 255:
    ``(x / scale + zero_point).astype(np.uint8)``, which truncates."""
    pixels = np.rint(tensor * 255).astype(np.float32)  # the letterboxed pixels, exactly
    truncated: np.ndarray = (pixels / np.float32(255) / scale + zero_point).astype(np.uint8)
    return truncated


def test_yolov5_int8_differs_from_its_own_pipeline_only_in_rounding_the_input(toolchain_models):
    """YOLOv5 truncates where odet (and TFLite's own Quantize op) rounds: the one step between
    odet and the tool's own inference on its int8 TFLite. With YOLOv5's truncation put in,
    odet's letterbox, decoding and NMS give what the tool gives, box for box."""
    name = "yolov5-int8.tflite"
    model = toolchain_models.model(name)
    detector = load_detector(model, conf=conf_for(name), iou=REFERENCE_IOU, max_det=300)
    given = interpreter_class()(model_path=str(model)).get_input_details()[0]
    assert given["dtype"] == np.uint8
    reference = toolchain_models.reference(name)
    for path in toolchain_models.images:
        tensor, geometry = detector.preprocess(cv2.imread(str(path)))
        output = detector.run(_truncated(tensor, *given["quantization"]))
        ours = detector.postprocess(output, geometry)
        assert_same(ours, reference[path.name], f"truncated on {path.name}", PIXEL, SCORE)
    rounded = toolchain_models.reference(ROUNDED_INPUT)
    differing = [i for i in reference if reference[i].scores.tolist() != rounded[i].scores.tolist()]
    assert differing, "truncating or rounding the input made no difference: nothing measured"


@pytest.mark.parametrize("name", SSD_MODELS)
def test_tflite_ssd_finds_what_tensorflow_s_interpreter_finds(toolchain_models, name):
    detector = load_detector(toolchain_models.model(name), conf=conf_for(name))
    assert detector.output_format.kind == NMS and detector.output_format.box_units == NORMALIZED
    assert detector.input_spec.resize == "stretch"
    assert detector.names == NAMES  # labelmap.txt beside it, ??? first
    assert _check_all(detector, toolchain_models, name) >= 3


def test_the_ssd_files_list_their_outputs_in_different_orders(toolchain_models):
    """What the parity test above reads: boxes listed first in one file, not in another, so a
    reader that took the outputs by position would fail one of them."""
    listed = set()
    for name in SSD_MODELS:
        interpreter = interpreter_class()(model_path=str(toolchain_models.model(name)))
        interpreter.allocate_tensors()
        listed.add(tuple(len(d["shape"]) for d in interpreter.get_output_details()))
    assert (3, 2, 2, 1) in listed and len(listed) == 2  # ranks: boxes 3, classes and scores 2


def test_a_yolov5_checkpoint_runs_where_the_yolov5_package_is(toolchain_models):
    python = toolchains_python()
    if python is None:
        pytest.skip("no .venv-toolchains with the yolov5 package")
    script = (
        "import json, sys, cv2\n"
        "from odet_ros.detection import load_detector\n"
        f"d = load_detector(sys.argv[1], conf={conf_for('yolov5.pt')}, iou={REFERENCE_IOU})\n"
        "out = {'backend': d.backend_name}\n"
        "for p in sys.argv[2:]:\n"
        "    r = d.detect(cv2.imread(p))\n"
        "    out[p] = [r.xyxy.tolist(), r.scores.tolist(), r.class_ids.tolist()]\n"
        "print(json.dumps(out))\n"
    )
    images = [str(p) for p in toolchain_models.images]
    run = subprocess.run(
        [str(python), "-c", script, str(toolchain_models.model("yolov5.pt")), *images],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found.pop("backend") == "yolov5"
    reference = toolchain_models.reference("yolov5.pt")
    for path in toolchain_models.images:
        xyxy, scores, classes = found[str(path)]
        ours = Detections.from_arrays(xyxy, scores, classes)
        assert_same(ours, reference[path.name], f"yolov5.pt on {path.name}", PIXEL, SCORE)


def test_a_yolov5_checkpoint_without_its_package_says_how_to_export_it(toolchain_models):
    if importlib.util.find_spec("yolov5") is not None:
        pytest.skip("the yolov5 package is installed here")
    with pytest.raises(ModelError, match=r"pip install yolov5.*--include onnx"):
        load_detector(toolchain_models.model("yolov5.pt"))


def test_an_edge_tpu_file_is_answered_with_what_it_needs(toolchain_models, tmp_path):
    """The SSD with its custom op renamed as the Edge TPU compiler names its one op."""
    data = toolchain_models.model(SSD_MODELS[1]).read_bytes()
    op = b"TFLite_Detection_PostProcess"
    at = data.index(len(op).to_bytes(4, "little") + op)
    edge = b"edgetpu-custom-op"
    patched = len(edge).to_bytes(4, "little") + edge + b"\0" * (len(op) - len(edge))
    compiled = tmp_path / "ssd_edgetpu.tflite"
    compiled.write_bytes(data[:at] + patched + data[at + 4 + len(op) :])
    shutil.copy(toolchain_models.model(LABELMAP), tmp_path / LABELMAP)
    with pytest.raises(ModelError, match=r"compiled for the Edge TPU.*libedgetpu"):
        load_detector(compiled)


PBTXT = "".join(f"item {{ id: {i + 1} name: '{name}' }}\n" for i, name in enumerate(NAMES))


@pytest.mark.parametrize(
    ("label_file", "text"),
    [
        ("labelmap.txt", "???\ncircle\nsquare\ntriangle\n"),  # TensorFlow's: line = id + 1
        ("labels.txt", "circle\nsquare\ntriangle\n"),  # line = id
        ("label_map.pbtxt", PBTXT),  # the Object Detection API's: 1-based ids
        ("coco_labels.txt", "0 circle\n1 square\n2 triangle\n"),  # Coral's: 0-based ids
    ],
)
def test_every_label_map_names_the_ssd_s_classes_alike(
    toolchain_models, tmp_path, label_file, text
):
    """The op's class ids count from 0 without the background; each kind of label map, 0- or
    1-based, must name them so. Beside the model where the loader looks, else passed."""
    model = tmp_path / "detect.tflite"
    shutil.copy(toolchain_models.model("ssd_uint8.tflite"), model)
    (tmp_path / label_file).write_text(text)
    passed = None if label_file != "coco_labels.txt" else tmp_path / label_file
    detector = load_detector(model, labels=passed, conf=conf_for("ssd_uint8.tflite"))
    assert detector.names == NAMES  # the names the reference's class ids index
    assert _check_all(detector, toolchain_models, "ssd_uint8.tflite") >= 3


def test_a_model_without_names_asks_for_a_label_file(toolchain_models, tmp_path):
    model = tmp_path / "detect.tflite"
    shutil.copy(toolchain_models.model("ssd_uint8.tflite"), model)
    with pytest.raises(ModelError, match=r"no class names.*labels\.txt or labelmap\.txt"):
        load_detector(model)
    other = tmp_path / "mine.txt"
    other.write_text("a\nb\nc\n")
    assert load_detector(model, labels=other).names == ["a", "b", "c"]


def test_odet_detect_writes_what_the_tool_finds(toolchain_models, tmp_path):
    images = tmp_path / "images"
    shutil.copytree(toolchain_models.folder / "images", images)
    model = str(toolchain_models.model("yolov5.onnx"))
    conf, iou = str(conf_for("yolov5.onnx")), str(REFERENCE_IOU)
    args = ["detect", model, str(images), "--out", str(tmp_path / "out"), "--conf", conf]
    assert main([*args, "--iou", iou]) == 0
    lines = (tmp_path / "out" / "detections.jsonl").read_text().splitlines()
    reference = toolchain_models.reference("yolov5.onnx")
    for line in map(json.loads, lines):
        boxes = line["detections"]
        ours = Detections.from_arrays(
            [b["xyxy"] for b in boxes], [b["score"] for b in boxes], [b["class_id"] for b in boxes]
        )
        assert_same(ours, reference[line["frame"]], line["frame"], PIXEL, SCORE)
    assert len(lines) == len(toolchain_models.images)


def test_odet_eval_compares_a_lecture_model_with_one_trained_here(
    toolchain_models, tiny_models, tmp_path
):
    out = tmp_path / "compare"
    ours = str(tiny_models.model("tiny.onnx"))
    theirs = str(toolchain_models.model("yolov5-int8.tflite"))
    data = str(toolchain_models.data_yaml)
    assert main(["eval", ours, data, "--out", str(out), "--compare", theirs]) == 0
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["a"]["model"]["backend"] == "onnxruntime"
    assert comparison["b"]["model"]["backend"] == "litert"
    assert comparison["a"]["overall"]["map50"] > comparison["b"]["overall"]["map50"]


@pytest.mark.parametrize(
    ("name", "labels", "kind", "resize"),
    [
        (SSD_MODELS[1], "???\ncircle\nsquare\ntriangle\n", NMS, "stretch"),
        ("yolov5-fp16.tflite", "circle\nsquare\ntriangle\n", YOLOV5, "letterbox"),
    ],
)
def test_odet_deploy_makes_a_bare_file_a_bundle_with_its_layout(
    toolchain_models, tmp_path, name, labels, kind, resize
):
    source = tmp_path / "brought" / name
    source.parent.mkdir()
    shutil.copy(toolchain_models.model(name), source)
    label_file = tmp_path / "labels.txt"
    label_file.write_text(labels)
    models = tmp_path / "models"
    args = ["deploy", str(source), "--into", str(models), "--labels", str(label_file)]
    assert main(args) == 0
    installed = models / source.stem
    bundle = yaml.safe_load((installed / "bundle.yaml").read_text())
    assert bundle["names"] == ["circle", "square", "triangle"]
    assert bundle["output_format"] == kind and bundle["resize"] == resize
    assert bundle["box_units"] == NORMALIZED and bundle["model"] == name
    image = cv2.imread(str(toolchain_models.images[0]))
    direct = load_detector(source, labels=label_file, conf=0.05).detect(image)
    bundled = load_detector(installed, conf=0.05).detect(image)
    assert bundled.xyxy.tolist() == direct.xyxy.tolist()


def test_odet_bag_select_runs_a_yolov5_model(toolchain_models, tmp_path):
    from odet_ros.sample.recording import IMAGE_TOPIC, write_sample
    from odet_ros.sample.scene import SampleConfig

    config = SampleConfig(seed=3, segments=1, frames_per_segment=10, width=160, height=120)
    sample = write_sample(tmp_path / "sample", config, progress=False)
    out = tmp_path / "selected"
    model = str(toolchain_models.model("yolov5.onnx"))
    args = ["bag", "select", str(sample.bag), "--model", model, "--topic", IMAGE_TOPIC]
    assert main([*args, "--out", str(out)]) == 0
    assert out.exists()
