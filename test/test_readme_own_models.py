"""docs/bring-your-own-model.md: its commands are the ones the tests run. The tools' export
commands are held to what the toolchain build (support/build_toolchains.py) runs; the odet
commands run as written on the toolchain models, and the ros2 launch line is the one odet deploy
prints for the bundle (test_ros_toolchains launches such bundles on a real ROS 2)."""

from __future__ import annotations

import json
import shlex
import shutil

import pytest
import yaml
from support.docs import ROOT, commands
from support.models import NAMES
from support.toolchains import BUILD_SCRIPT, LABELMAP, RECIPE

from odet_ros.cli.main import main

DOCUMENT = ROOT / "docs" / "bring-your-own-model.md"


def section() -> tuple[str, list[list[str]]]:
    """The page's text, and the commands of its shell blocks (support/docs.py splits them)."""
    return DOCUMENT.read_text(), [list(c.argv) for c in commands(DOCUMENT)]


def _without_values(words: list[str], options: tuple[str, ...]) -> list[str]:
    """``words`` without the given options and the value after each."""
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in options:
            skip = True
        else:
            kept.append(word)
    return kept


def test_the_yolov5_export_commands_are_the_ones_the_build_runs():
    """The build runs export.py with the same arguments at --imgsz 160 on its own weights."""
    per_file = ("--weights", "--imgsz")
    written = sorted(
        _without_values(words[2:], per_file)
        for words in section()[1]
        if words[:2] == ["python", "export.py"]
    )
    built = sorted(shlex.split(flags) for _, flags in RECIPE["yolov5"]["exports"])
    assert written == built
    assert "python -m yolov5.export" in section()[0]  # the pip package's export.py


def test_the_tensorflow_conversions_are_the_ones_the_build_runs():
    text, written = section()
    (convert,) = [words for words in written if words[0] == "tflite_convert"]
    assert _without_values(convert, ("--saved_model_dir", "--output_file")) == ["tflite_convert"]
    build = BUILD_SCRIPT.read_text()
    assert 'with_name("tflite_convert")' in build
    assert '["--saved_model_dir", str(saved), "--output_file", str(work / name)]' in build
    text = " ".join(text.split())
    for setting in (
        "converter = tf.lite.TFLiteConverter.from_saved_model(",
        "converter.optimizations = [tf.lite.Optimize.DEFAULT]",
        "converter.representative_dataset",
        "converter.inference_input_type = tf.uint8",
    ):
        assert f"`{setting}" in text and setting in build, setting


@pytest.mark.slow  # the toolchain models
def test_the_odet_commands_run_as_written(
    toolchain_models, tiny_models, tmp_path, monkeypatch, capsys
):
    """In a folder holding what the commands name, made from the test models: the files the
    export commands write, the label files, images, a data.yaml and a model trained here."""
    made_by = {
        "best.onnx": "yolov5.onnx",
        "best-fp16.tflite": "yolov5-fp16.tflite",
        "best-int8.tflite": "yolov5-int8.tflite",
        "detect.tflite": "ssd.tflite",  # tflite_convert's
    }
    for name, model in made_by.items():
        shutil.copy(toolchain_models.model(model), tmp_path / name)
    (tmp_path / "labels.txt").write_text("\n".join(NAMES) + "\n")
    shutil.copy(toolchain_models.model(LABELMAP), tmp_path / LABELMAP)
    shutil.copytree(toolchain_models.folder / "images", tmp_path / "images")
    shutil.copy(toolchain_models.data_yaml, tmp_path / "data.yaml")  # its path is absolute
    shutil.copy(tiny_models.model("tiny.onnx"), tmp_path / "ours.onnx")
    package = tmp_path / "ros2_ws" / "src" / "odet_ros"
    package.mkdir(parents=True)
    shutil.copy(ROOT / "package.xml", package / "package.xml")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    written = section()[1]
    ran = [words for words in written if words[0] == "odet"]
    for words in ran:
        assert main(words[1:]) == 0, " ".join(words)
    printed = capsys.readouterr().out.splitlines()
    assert [w[1] for w in ran] == ["deploy", "deploy", "deploy", "detect", "eval"]
    (launch,) = [words for words in written if words[0] == "ros2"]
    assert shlex.join(launch) in printed  # what deploy --workspace said to run

    models = package / "models"
    for bundle, kind in (("best", "yolov5"), ("best-int8", "yolov5"), ("detect", "nms")):
        described = yaml.safe_load((models / bundle / "bundle.yaml").read_text())
        assert described["names"] == NAMES and described["output_format"] == kind, bundle
    assert yaml.safe_load((models / "detect" / "bundle.yaml").read_text())["resize"] == "stretch"
    frames = (tmp_path / "runs" / "detect" / "yolov5" / "detections.jsonl").read_text()
    assert len(frames.splitlines()) == len(toolchain_models.images)
    (comparison,) = (tmp_path / "runs" / "eval").rglob("comparison.json")
    assert json.loads(comparison.read_text())["b"]["model"]["backend"] == "litert"
