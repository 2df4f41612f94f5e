"""The models other toolchains make, run through our detector and held to each tool's own
inference on the same files (support/toolchains.py builds them with the tools' own code):
YOLOv5's ONNX and TFLite exports against its detect.py pipeline, TensorFlow's SSD with the
detection post-process op against TensorFlow's interpreter. Then the paths a team takes with
them: label files, `odet detect`, `odet eval --compare`, `odet deploy` of a bare file, and the
messages for what cannot run here (a YOLOv5 .pt without its package, an Edge TPU file).

Runs wherever the cache exists (the robot profiles read the stored predictions)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess

import cv2
import pytest
import yaml
from support.detection import assert_same
from support.toolchains import (
    LABELMAP,
    REFERENCE_IOU,
    SSD_MODELS,
    YOLOV5_MODELS,
    conf_for,
    toolchains_python,
)

from odet_ros.cli.main import main
from odet_ros.detection import Detections, ModelError, load_detector
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


@pytest.mark.parametrize("name", EXPORTS)
def test_yolov5_exports_find_what_yolov5_detect_finds(toolchain_models, name):
    detector = load_detector(
        toolchain_models.model(name), conf=conf_for(name), iou=REFERENCE_IOU, max_det=300
    )
    assert detector.output_format.kind == YOLOV5
    assert detector.names == ["circle", "square", "triangle"]  # metadata or labelmap.txt
    assert _check_all(detector, toolchain_models, YOLOV5_MODELS[name]) >= 3


@pytest.mark.parametrize("name", SSD_MODELS)
def test_tflite_ssd_finds_what_tensorflow_s_interpreter_finds(toolchain_models, name):
    detector = load_detector(toolchain_models.model(name), conf=conf_for(name))
    assert detector.output_format.kind == NMS and detector.output_format.box_units == NORMALIZED
    assert detector.input_spec.resize == "stretch"
    assert _check_all(detector, toolchain_models, name) >= 3


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


def test_label_files_name_the_classes_of_a_model_without_metadata(toolchain_models, tmp_path):
    model = tmp_path / "detect.tflite"
    shutil.copy(toolchain_models.model(SSD_MODELS[1]), model)
    with pytest.raises(ModelError, match=r"no class names.*labels\.txt or labelmap\.txt"):
        load_detector(model)
    pbtxt = tmp_path / "label_map.pbtxt"
    pbtxt.write_text("item { id: 1 name: 'circle' }\nitem { id: 2 name: 'square' }\n"
                     "item { id: 3 name: 'triangle' }\n")  # fmt: skip
    assert load_detector(model).names == ["circle", "square", "triangle"]
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
