"""Model bundles: bundle.yaml round trip, validation, and finding a model by path or by name."""

from __future__ import annotations

import re
import shutil
import sys

import cv2
import pytest

from odet_ros.detection import ModelBundle, ModelError, load_detector, resolve_model
from odet_ros.detection.bundle import BUNDLE_FILE, model_identity


def make_bundle(folder, model_file, **fields):
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(model_file, folder / model_file.name)
    bundle = ModelBundle(model=model_file.name, **fields)
    bundle.save(folder)
    return bundle


def test_save_and_load_round_trip(tmp_path):
    bundle = ModelBundle(
        model="m.onnx",
        names=["cup", "can"],
        imgsz=(320, 320),
        input_layout="nchw",
        input_dtype="float32",
        output_format="raw",
        box_units="pixels",
        dataset="datasets/kitchen",
        run="runs/train3",
        metrics={"mAP50": 0.91, "mAP50-95": 0.7},
    )
    path = bundle.save(tmp_path)
    assert path == tmp_path / BUNDLE_FILE
    assert [p.name for p in tmp_path.iterdir()] == [BUNDLE_FILE]  # no partial file left
    assert ModelBundle.load(tmp_path) == bundle


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model: m.onnx\n", "missing 1 required positional argument: 'names'"),
        ("model: m.onnx\nnames: [a]\nimgsz: [320]\n", "invalid imgsz"),
        ("model: m.onnx\nnames: [a]\nbox_units: inches\n", "invalid box_units: 'inches'"),
        ("model: m.onnx\nnames: [a]\nweights: x\n", "unknown field\\(s\\) weights"),
        ("model: m.onnx\nnames: a, b\n", "invalid names"),
        ("[not, a, mapping]\n", "expected a mapping"),
        ("model: [\n", "cannot read"),
    ],
)
def test_bad_bundle_files_name_the_file_and_field(tmp_path, text, message):
    (tmp_path / BUNDLE_FILE).write_text(text)
    with pytest.raises(ModelError, match=message) as error:
        ModelBundle.load(tmp_path)
    assert str(tmp_path / BUNDLE_FILE) in str(error.value)


def test_folder_without_bundle_or_model_is_reported(tmp_path):
    with pytest.raises(ModelError, match=f"{tmp_path}: not a model bundle"):
        resolve_model(tmp_path)
    ModelBundle(model="gone.onnx", names=["a"]).save(tmp_path)
    with pytest.raises(ModelError, match=re.escape("model file gone.onnx is missing")):
        resolve_model(tmp_path)


@pytest.mark.slow
def test_bundle_by_folder_by_file_and_by_name(tiny_models, tmp_path, monkeypatch):
    onnx = tiny_models.model("tiny.onnx")
    renamed = ["disc", "box", "wedge"]
    folder = tmp_path / "shapes"
    make_bundle(folder, onnx, names=renamed, imgsz=(160, 160))
    assert resolve_model(folder).path == folder / "tiny.onnx"
    assert resolve_model(folder / "tiny.onnx").bundle.names == renamed  # a file inside a bundle
    assert resolve_model(onnx).bundle is None

    share = tmp_path / "prefix" / "share" / "odet_ros" / "models"
    make_bundle(share / "shapes_v2", onnx, names=renamed)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    detector = load_detector("shapes_v2")
    assert detector.names == renamed and detector.model_path == share / "shapes_v2" / "tiny.onnx"
    with pytest.raises(ModelError, match=f"no bundle of that name in .*{share}"):
        load_detector("shapes_v3")


@pytest.mark.slow
def test_bundle_fields_override_and_check_the_model(tiny_models, tmp_path):
    onnx = tiny_models.model("tiny.onnx")
    make_bundle(tmp_path / "ok", onnx, names=["a", "b", "c"])
    image = cv2.imread(str(tiny_models.images[0]))
    assert load_detector(tmp_path / "ok", conf=0.1).detect(image)  # names from the bundle work
    make_bundle(tmp_path / "bad_size", onnx, names=["a", "b", "c"], imgsz=(320, 320))
    with pytest.raises(ModelError, match=re.escape("bundle.yaml: imgsz [320, 320] disagrees")):
        load_detector(tmp_path / "bad_size")
    make_bundle(tmp_path / "bad_names", onnx, names=["a", "b", "c", "d"])
    with pytest.raises(
        ModelError, match=re.escape("tiny.onnx: output [1, 7, 525] has no axis of 4 box values + 4")
    ):
        load_detector(tmp_path / "bad_names")


@pytest.mark.slow
def test_bundle_layout_must_match_the_model(tiny_models, tmp_path):
    make_bundle(
        tmp_path / "nhwc",
        tiny_models.model("tiny.onnx"),
        names=tiny_models.names,
        input_layout="nhwc",
    )
    with pytest.raises(
        ModelError,
        match=re.escape("bundle.yaml: input_layout nhwc disagrees with the model's nchw"),
    ):
        load_detector(tmp_path / "nhwc")


def test_a_model_is_known_by_its_name_and_a_version_that_follows_its_weights(tmp_path):
    folder = tmp_path / "cups_v1"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"weights one")
    ModelBundle(model="model.onnx", names=["cup"]).save(folder)
    name, version = model_identity(folder)
    assert name == "cups_v1" and re.fullmatch(r"[0-9a-f]{12}", version)
    assert model_identity(folder / "model.onnx") == (name, version)  # the file inside, too
    (folder / "model.onnx").write_bytes(b"weights two")  # retrained
    assert model_identity(folder)[1] != version
    loose = tmp_path / "other.onnx"
    loose.write_bytes(b"weights one")
    assert model_identity(loose) == ("other.onnx", version)
