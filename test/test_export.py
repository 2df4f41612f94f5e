"""`odet export` on the tiny model trained here (test/support/models.py): every CPU format, each
bundle evaluated against the .pt and loaded by the detector; bad input leaves no bundle behind."""

from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("ultralytics")

from odet_ros.cli.main import main
from odet_ros.detection import ModelBundle, load_detector
from odet_ros.evaluation import DatasetError, evaluate_model
from odet_ros.selection.profile import ScoreStats
from odet_ros.training.data import open_dataset
from odet_ros.training.deepstream import CONFIG_FILE, LABELS_FILE
from odet_ros.training.errors import ExportError, ToolchainError
from odet_ros.training.export import ExportSettings, export_model
from odet_ros.training.input_size import common_frame_size

pytestmark = pytest.mark.slow  # exports the tiny models (trained on first use)

FLOAT_FORMATS = ("onnx", "tflite")


@pytest.fixture(scope="module")
def data(tiny_models, tmp_path_factory):
    """The tiny model's dataset, its val images doubling as the test split."""
    root = tiny_models.data_yaml.parent
    config = {
        "path": str(root),
        "train": "train/images",
        "val": "val/images",
        "test": "val/images",
        "names": tiny_models.names,
    }
    data = tmp_path_factory.mktemp("data") / "data.yaml"
    data.write_text(yaml.safe_dump(config))
    return data


@pytest.fixture(scope="module")
def exported(tiny_models, data, tmp_path_factory):
    """Export the tiny .pt to a format once per module; returns (result, bundle)."""
    folder = tmp_path_factory.mktemp("exports")
    done = {}

    def export(fmt):
        if fmt not in done:
            settings = ExportSettings(
                tiny_models.model("tiny.pt"), fmt, data=data, out=folder / fmt
            )
            result = export_model(settings)
            done[fmt] = result, ModelBundle.load(result.bundle)
        return done[fmt]

    return export


def leftovers(folder):
    """Anything in ``folder``: a failed export must leave neither a bundle nor a partial one."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("fmt", FLOAT_FORMATS)
def test_float_exports_keep_the_pt_accuracy(exported, data, tiny_models, fmt):
    result, bundle = exported(fmt)
    accuracy = result.accuracy
    assert accuracy.exported.split == "test"  # the test split is preferred to val
    assert accuracy.source.backend == "ultralytics"
    assert accuracy.source.evaluation.summary.map50 > 0.5  # the tiny model learned the shapes
    assert abs(accuracy.drop_points) < 2.0  # fp32: the same network, another runtime
    assert not result.drop_exceeded
    assert bundle.metrics["map50_95_drop_points"] == accuracy.drop_points
    assert bundle.provenance["evaluation"]["split"] == "test"
    assert bundle.provenance["dataset"]["hash"] == open_dataset(data).fingerprint
    assert bundle.names == tiny_models.names
    assert bundle.box_units == ("pixels" if fmt == "onnx" else "normalized")
    assert ScoreStats.from_dict(bundle.scores, "export").split == "test"
    assert bundle.training_views and (result.bundle / bundle.training_views).is_file()
    # the number in the bundle is the number `odet eval` (the robot's detector) gets
    again = evaluate_model(result.bundle, data, "test", progress=False)
    assert again.evaluation.summary.map50_95 == pytest.approx(bundle.metrics["map50_95"], 1e-4)


@pytest.mark.parametrize("fmt", [*FLOAT_FORMATS, "tflite-int8", "tflite-int8-weights"])
def test_each_bundle_loads_in_the_detector_and_finds_the_shapes(exported, tiny_models, fmt):
    result, bundle = exported(fmt)
    detector = load_detector(result.bundle, conf=0.25)
    assert detector.input_size == (160, 160)
    assert detector.names == tiny_models.names
    image = cv2.imread(str(tiny_models.images[0]))
    reference = load_detector(tiny_models.model("tiny.pt"), conf=0.25, imgsz=160).detect(image)
    found = detector.detect(image)
    assert len(reference) > 0
    assert sorted(found.class_ids.tolist()) == sorted(reference.class_ids.tolist())


def test_int8_is_calibrated_on_the_train_split_and_keeps_accuracy(exported, data):
    fp32_result, _ = exported("tflite")
    result, bundle = exported("tflite-int8")
    export = bundle.provenance["export"]
    dataset = open_dataset(data)
    assert export["calibration"] == {
        "split": "train",
        "images": dataset.summary["train"].images,
        "dataset_hash": dataset.fingerprint,
    }
    assert export["quantization"]["float_ops"] > 0  # the box decoding
    int8_size = (result.bundle / bundle.model).stat().st_size
    fp32_size = (fp32_result.bundle / "tiny.tflite").stat().st_size
    assert int8_size < 0.5 * fp32_size  # int8 weights
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(result.bundle / bundle.model))
    types = {np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    assert np.dtype(np.int8) in types  # int8 activations and weights inside...
    assert interpreter.get_input_details()[0]["dtype"] == np.float32  # ...float at the edges
    assert result.accuracy.drop_points < 2.0  # the bound, in mAP50-95 points


def test_weight_only_int8_is_smaller_with_float_activations(exported):
    fp32_result, _ = exported("tflite")
    result, bundle = exported("tflite-int8-weights")
    assert bundle.provenance["export"]["ultralytics_arguments"]["quantize"] == "w8a32"
    size = (result.bundle / bundle.model).stat().st_size
    assert size < 0.5 * (fp32_result.bundle / "tiny.tflite").stat().st_size
    assert abs(result.accuracy.drop_points) < 2.0


def test_deepstream_package_matches_the_onnx_model(exported, tiny_models):
    import onnxruntime

    result, bundle = exported("deepstream")
    package = result.bundle / "deepstream"
    assert (package / LABELS_FILE).read_text().splitlines() == tiny_models.names
    config = (package / CONFIG_FILE).read_text()
    assert "num-detected-classes=3\n" in config
    assert "onnx-file=tiny_deepstream.onnx\n" in config
    assert "parse-bbox-func-name=NvDsInferParseYolo\n" in config
    tensor = np.random.default_rng(0).random((1, 3, 160, 160), np.float32)
    raw = onnxruntime.InferenceSession(str(result.bundle / bundle.model))
    deepstream = onnxruntime.InferenceSession(str(package / "tiny_deepstream.onnx"))
    head = raw.run(None, {"images": tensor})[0][0].T  # (anchors, 4 + classes)
    (rows,) = deepstream.run(["output"], {"images": tensor})[0]
    centre, size, scores = head[:, :2], head[:, 2:4], head[:, 4:]
    np.testing.assert_allclose(rows[:, :2], centre - size / 2, atol=1e-3)
    np.testing.assert_allclose(rows[:, 2:4], centre + size / 2, atol=1e-3)
    np.testing.assert_allclose(rows[:, 4], scores.max(1), atol=1e-6)
    np.testing.assert_array_equal(rows[:, 5], scores.argmax(1))
    assert abs(result.accuracy.drop_points) < 2.0  # the bundle's own ONNX, evaluated


@pytest.mark.parametrize("fmt", ["onnx", "tflite-int8"])
def test_camera_export_fits_a_rectangle_that_runs_like_the_pt(tiny_models, data, tmp_path, fmt):
    """320x240 frames at imgsz 160: 160x120 padded to the stride, a 128x160 input; the .pt is
    scored at the same size, so a float export keeps its accuracy exactly."""
    out = tmp_path / fmt
    code = main(
        ["export", str(tiny_models.model("tiny.pt")), "--format", fmt, "--data", str(data),
         "--imgsz", "160", "--camera", "320x240", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    bundle = ModelBundle.load(out)
    assert bundle.imgsz == (128, 160)
    assert bundle.provenance["export"]["ultralytics_arguments"]["imgsz"] == [128, 160]
    detector = load_detector(out, conf=0.25)
    assert detector.input_size == (128, 160)
    frame = cv2.resize(cv2.imread(str(tiny_models.images[-1])), (320, 240))
    reference = load_detector(tiny_models.model("tiny.pt"), conf=0.25, imgsz=160).detect(frame)
    found = detector.detect(frame)
    assert len(reference) > 0
    assert sorted(found.class_ids.tolist()) == sorted(reference.class_ids.tolist())
    drop = bundle.metrics["map50_95_drop_points"]
    assert abs(drop) < (0.5 if fmt == "onnx" else 2.0)


def test_a_dataset_of_one_frame_size_suggests_the_camera_option(tmp_path, capsys, tiny_models):
    root = tmp_path / "ds"
    for split, count in (("train", 3), ("val", 1)):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        for n in range(count):
            cv2.imwrite(
                str(root / split / "images" / f"{n}.png"), np.zeros((240, 320, 3), np.uint8)
            )
            (root / split / "labels" / f"{n}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    config = {"path": str(root), "train": "train/images", "val": "val/images"}
    (root / "data.yaml").write_text(yaml.safe_dump({**config, "names": tiny_models.names}))
    dataset = open_dataset(root / "data.yaml")
    assert common_frame_size(dataset) == (320, 240)
    code = main(
        ["export", str(tiny_models.model("tiny.pt")), "--format", "onnx", "--data", str(root),
         "--out", str(tmp_path / "o")]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "hint: the train images are 320x240: --camera 320x240 would export a 160x128" in printed
    assert "80% of the 160x160 pixels" in printed
    cv2.imwrite(str(root / "train" / "images" / "2.png"), np.zeros((240, 240, 3), np.uint8))
    assert common_frame_size(open_dataset(root / "data.yaml")) is None


def test_camera_size_is_checked_before_anything_is_written(tiny_models, tmp_path, capsys):
    pt = str(tiny_models.model("tiny.pt"))
    with pytest.raises(SystemExit):
        main(["export", pt, "--format", "onnx", "--camera", "640*480"])
    assert "WIDTHxHEIGHT such as 640x480, not '640*480'" in capsys.readouterr().err
    with pytest.raises(ExportError, match=r"--camera fixes the input .* --dynamic leaves it free"):
        ExportSettings(pt, "onnx", camera=(640, 480), dynamic=True, out=tmp_path / "x")
    assert leftovers(tmp_path) == []


def test_cli_prints_a_loud_warning_when_the_drop_exceeds_the_limit(
    tiny_models, data, tmp_path, capsys
):
    out = tmp_path / "onnx"
    code = main(
        ["export", str(tiny_models.model("tiny.pt")), "--format", "onnx", "--data", str(data),
         "--out", str(out), "--max-drop", "-100"]
    )  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "!!! WARNING: the onnx export lost" in captured.err
    assert f"bundle: {out}" in captured.out
    assert ModelBundle.load(out).metrics["map50_95"] > 0.3


def test_a_corrupted_model_is_a_clear_error_and_writes_nothing(tmp_path, data):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"PK\x03\x04 not really a checkpoint")
    with pytest.raises(ExportError, match=r"broken\.pt: cannot load the model"):
        export_model(ExportSettings(broken, "onnx", data=data, out=tmp_path / "out" / "b"))
    assert leftovers(tmp_path / "out") == []


def test_a_class_count_that_disagrees_with_the_dataset_is_refused(tiny_models, tmp_path, data):
    config = yaml.safe_load(data.read_text())
    config["names"] = ["circle", "square"]
    two = tmp_path / "two.yaml"
    two.write_text(yaml.safe_dump(config))
    with pytest.raises(ExportError, match=r"has 3 classes .* has 2 \(circle, square\)"):
        export_model(
            ExportSettings(tiny_models.model("tiny.pt"), "onnx", data=two, out=tmp_path / "o" / "x")
        )
    assert leftovers(tmp_path / "o") == []


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here"
)
def test_a_missing_toolchain_is_named_before_anything_is_written(tiny_models, tmp_path, capsys):
    out = tmp_path / "exports" / "engine"
    with pytest.raises(ToolchainError, match=r"--format engine needs tensorrt"):
        export_model(ExportSettings(tiny_models.model("tiny.pt"), "engine", out=out))
    assert main(["export", str(tiny_models.model("tiny.pt")), "--format", "engine"]) == 1
    assert "deepstream or onnx" in capsys.readouterr().err
    assert leftovers(tmp_path / "exports") == []


def test_int8_without_a_dataset_fails_rather_than_calibrating_on_coco8(tiny_models, tmp_path):
    with pytest.raises(ExportError, match=r"pass --data .*never falls back .*coco8"):
        export_model(
            ExportSettings(tiny_models.model("tiny.pt"), "tflite-int8", out=tmp_path / "o" / "q")
        )
    assert leftovers(tmp_path / "o") == []


def test_a_failure_after_the_export_removes_the_partial_bundle(tiny_models, data, tmp_path):
    """Labels the evaluation rejects only show up once the model is exported: the staged
    bundle is removed, and an existing bundle at OUT (with --force) is kept."""
    root = tmp_path / "bad"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    image = cv2.imread(str(tiny_models.images[0]))
    for split in ("train", "val"):
        cv2.imwrite(str(root / "images" / f"{split}.png"), image)
        (root / "labels" / f"{split}.txt").write_text("7 0.5 0.5 0.2 0.2\n")  # no class 7
        (root / f"{split}.txt").write_text(str(root / "images" / f"{split}.png") + "\n")
    config = {"path": str(root), "train": "train.txt", "val": "val.txt", "names": tiny_models.names}
    (root / "data.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "exports" / "onnx"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("an older bundle")
    settings = ExportSettings(tiny_models.model("tiny.pt"), "onnx", data=root, out=out, force=True)
    with pytest.raises(DatasetError, match=r"val\.txt:1: class id outside 0\.\.2"):
        export_model(settings)
    assert leftovers(tmp_path / "exports") == ["onnx"]
    assert leftovers(out) == ["keep.txt"]


def test_an_existing_bundle_is_not_replaced_without_force(tiny_models, data, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    with pytest.raises(ExportError, match=r"taken already exists \(pass --force"):
        export_model(ExportSettings(tiny_models.model("tiny.pt"), "onnx", data=data, out=out))
    assert leftovers(out) == []


def test_a_fixed_batch_export_answers_each_camera_as_the_single_frame_export(
    exported, tiny_models, data, tmp_path
):
    """`odet export --batch 2`: two cameras per run, a third padded into a second run, and a
    single frame padded too (its evaluation ran so): the boxes of the batch-1 export."""
    result = export_model(
        ExportSettings(
            tiny_models.model("tiny.pt"), "onnx", data=data, batch=2, out=tmp_path / "b2"
        )
    )
    bundle = ModelBundle.load(result.bundle)
    batched = load_detector(result.bundle, conf=0.1)
    single = load_detector(exported("onnx")[0].bundle, conf=0.1)
    assert batched._backend.input.batch == 2
    images = [cv2.imread(str(p)) for p in tiny_models.images[:3]]
    for found, image in zip(batched.detect_batch(images, ["bgr8"] * 3), images, strict=True):
        expected = single.detect(image)
        assert len(found) == len(expected)
        np.testing.assert_allclose(found.xyxy, expected.xyxy, atol=1e-2)
    assert len(batched.detect(images[0])) == len(single.detect(images[0]))
    assert bundle.metrics["map50_95"] == pytest.approx(
        exported("onnx")[1].metrics["map50_95"], abs=1e-3
    )
    with pytest.raises(ExportError, match="--batch"):
        ExportSettings(tiny_models.model("tiny.pt"), "tflite", batch=2)
