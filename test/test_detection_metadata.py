"""Embedded model metadata: ONNX metadata_props, the TFLite metadata.json entry, engine headers."""

from __future__ import annotations

import json
import re
import shutil
import zipfile

import cv2
import numpy as np
import pytest
from support.detection import assert_matches

from odet_ros.detection import ModelBundle, ModelError, load_detector
from odet_ros.detection.metadata import (
    MetadataError,
    ModelInfo,
    model_info,
    parse_names,
    read_engine_header,
    read_tflite_metadata,
)


def test_names_from_every_form_ultralytics_writes():
    assert parse_names("{0: 'person', 1: 'bicycle'}") == ["person", "bicycle"]  # ONNX repr
    assert parse_names({"1": "b", "0": "a"}) == ["a", "b"]  # JSON keys are strings
    assert parse_names(["a", "b"]) == ["a", "b"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{0: 'a', 2: 'c'}", "indexed 0..1"),
        ({"x": "a"}, "keys must be class indices"),
        ("{0: 'a'", "not a Python literal"),
        (42, "must be a list"),
    ],
)
def test_malformed_names_are_rejected(value, message):
    with pytest.raises(MetadataError, match=message):
        parse_names(value)


def test_model_info_from_onnx_style_strings():
    info = model_info(
        {
            "names": "{0: 'a', 1: 'b'}",
            "imgsz": "[320, 256]",
            "end2end": "False",
            "args": "{'nms': True, 'batch': 1}",
            "task": "detect",
        }
    )
    assert info == ModelInfo(names=["a", "b"], imgsz=(320, 256), end2end=True, task="detect")
    assert model_info({}) == ModelInfo()
    assert model_info({"imgsz": 640}).imgsz == (640, 640)


@pytest.mark.slow
def test_real_exports_carry_names_and_size(tiny_models):
    metadata = read_tflite_metadata(tiny_models.model("tiny.tflite"))
    assert model_info(metadata).names == tiny_models.names
    detector = load_detector(tiny_models.model("tiny.onnx"))
    assert detector.names == tiny_models.names and detector.input_size == (160, 160)
    assert detector.backend_name == "onnxruntime"


def strip_tflite_metadata(source, target):
    """The flatbuffer without the zip Ultralytics appends (a third-party export)."""
    data = source.read_bytes()
    with zipfile.ZipFile(source) as archive:
        start = min(info.header_offset for info in archive.infolist())
    target.write_bytes(data[:start])
    return target


@pytest.mark.slow
def test_tflite_without_metadata_needs_a_bundle_then_finds_the_box_units_itself(
    tiny_models, tmp_path
):
    bare = strip_tflite_metadata(tiny_models.model("tiny.tflite"), tmp_path / "bare.tflite")
    assert read_tflite_metadata(bare) == {}
    with pytest.raises(ModelError, match=f"{bare}: no class names"):
        load_detector(bare)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    shutil.move(bare, bundle / "bare.tflite")
    ModelBundle(model="bare.tflite", names=tiny_models.names).save(bundle)
    detector = load_detector(bundle, conf=0.1)
    reference = tiny_models.reference("tiny.tflite")
    for path in tiny_models.images:  # normalised boxes detected from the output itself
        assert_matches(detector.detect(cv2.imread(str(path))), reference[path.name], path.name)


@pytest.mark.slow
def test_onnx_without_metadata_needs_a_bundle(tiny_models, tmp_path):
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(tiny_models.model("tiny.onnx")))
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    with pytest.raises(ModelError, match=re.escape(f"{bare}: no class names") + ".* bundle.yaml"):
        load_detector(bare)


def test_engine_header_is_parsed_and_a_bare_plan_has_none(tmp_path):
    metadata = {"names": {"0": "a"}, "imgsz": [320, 320], "stride": 32}
    header = json.dumps(metadata).encode()
    plan = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    engine = tmp_path / "m.engine"
    engine.write_bytes(len(header).to_bytes(4, "little") + header + plan)
    assert read_engine_header(engine) == (4 + len(header), metadata)
    engine.write_bytes(plan)
    assert read_engine_header(engine) == (0, {})
