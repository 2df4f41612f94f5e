"""`odet eval` end to end: a real ONNX model through the detection core on a dataset written here.

test/data/brightness_model.onnx finds one box, class "bright", in the middle of a square image
(the centre half: 16..48 of 64 pixels) scored by the image's mean brightness, and never finds
class "never". So each image's prediction is known, and so are the metrics:

=====  ==========  ===========  ==========================================
image  brightness  prediction   labels
=====  ==========  ===========  ==========================================
a      255         1.00 bright  bright, centre: a hit
d      230         0.90 bright  none: a false positive
b      128         0.50 bright  bright, centre: a hit
c       51         0.20 bright  bright, centre: a hit under conf 0.25
e        0         none         never, top left: a miss
=====  ==========  ===========  ==========================================

Ranked by score, "bright" has precision 1, 1/2, 2/3, 3/4 at recall 1/3, 1/3, 2/3, 1: an envelope
of 1 up to recall 1/3 and 3/4 beyond. COCO samples it at 101 recalls (0.00-0.33: 34 points at 1,
0.34-1.00: 67 at 3/4); Ultralytics integrates it (trapezoids) to 0.83. The box is exact, so every
IoU threshold agrees, and "never" scores 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from odet_ros.cli.main import main

MODEL = str(Path(__file__).parent / "data" / "brightness_model.onnx")
CENTRE = "0 0.5 0.5 0.5 0.5"
IMAGES = {"a": (255, [CENTRE]), "b": (128, [CENTRE]), "c": (51, [CENTRE]), "d": (230, [])}
IMAGES["e"] = (0, ["1 0.2 0.2 0.1 0.1"])
BRIGHT_AP = {"coco": (34 * 1.0 + 67 * 0.75) / 101, "ultralytics": 0.83}


def write_dataset(root: Path, names=("bright", "never")) -> Path:
    (root / "images" / "val").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    for name, (level, rows) in IMAGES.items():
        cv2.imwrite(
            str(root / "images" / "val" / f"{name}.png"), np.full((64, 64, 3), level, np.uint8)
        )
        if rows:
            (root / "labels" / "val" / f"{name}.txt").write_text("\n".join(rows) + "\n")
    listed = ", ".join(names)
    (root / "data.yaml").write_text(f"path: {root}\nval: images/val\nnames: [{listed}]\n")
    return root / "data.yaml"


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path / "dataset")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("mode", ["coco", "ultralytics"])
def test_eval_reports_the_known_metrics(dataset, tmp_path, capsys, mode):
    out = tmp_path / "report"
    assert main(["eval", MODEL, str(dataset), "--out", str(out), "--mode", mode]) == 0
    metrics = read_json(out / "metrics.json")
    bright, never = metrics["classes"]
    assert bright["ap50"] == pytest.approx(BRIGHT_AP[mode], abs=1e-6)
    assert bright["ap50_95"] == pytest.approx(BRIGHT_AP[mode], abs=1e-6)
    assert never["ap50"] == 0.0
    assert metrics["overall"]["map50_95"] == pytest.approx(BRIGHT_AP[mode] / 2, abs=1e-6)
    # at conf 0.25 the detector keeps a, d and b: two hits of three boxes, two of three objects
    assert bright["predictions_at_conf"] == 3
    assert bright["precision_at_conf"] == bright["recall_at_conf"] == pytest.approx(2 / 3)
    assert never["precision_at_conf"] == never["recall_at_conf"] == 0.0
    assert metrics["overall"]["recall_at_conf"] == pytest.approx(1 / 3)
    assert metrics["confusion_matrix"]["matrix"] == [[2, 0, 1], [0, 0, 0], [1, 1, 0]]
    assert (metrics["images"], metrics["instances"]) == (5, 4)
    assert metrics["model"]["backend"] == "onnxruntime"
    assert metrics["dataset"]["split"] == "val"
    printed = capsys.readouterr().out
    assert "bright" in printed and f"report: {out / 'report.html'}" in printed
    page = (out / "report.html").read_text()
    assert "<table>" in page and "bright" in page


def test_eval_writes_plots_into_a_self_contained_page(dataset, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "report"
    assert main(["eval", MODEL, str(dataset), "--out", str(out)]) == 0
    for name in ("pr_curve.png", "f1_curve.png", "confusion_matrix.png"):
        assert cv2.imread(str(out / name)) is not None
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert 'src="http' not in page and "<link" not in page


def test_without_matplotlib_the_report_comes_without_plots(dataset, tmp_path, monkeypatch):
    from odet_ros.evaluation import plots

    monkeypatch.setattr(plots, "plotting_available", lambda: False)  # a robot without it
    out = tmp_path / "report"
    assert main(["eval", MODEL, str(dataset), "--out", str(out)]) == 0
    assert not list(out.glob("*.png"))
    assert "no plots: matplotlib is not installed" in (out / "report.html").read_text()
    assert read_json(out / "metrics.json")["overall"]["map50"] > 0


def test_compare_sets_two_models_side_by_side(dataset, tmp_path, capsys):
    out = tmp_path / "compare"
    args = ["eval", MODEL, str(dataset), "--out", str(out), "--compare", MODEL]
    assert main(args) == 0
    comparison = read_json(out / "comparison.json")
    assert comparison["schema"] == "odet.comparison/1"
    assert comparison["a"]["overall"] == comparison["b"]["overall"]
    assert set(comparison["difference"]["overall"].values()) == {0.0}
    assert comparison["difference"]["classes"][0]["ap50_95"] == 0.0
    for side in ("a", "b"):
        assert read_json(out / side / "metrics.json")["overall"] == comparison["a"]["overall"]
    printed = capsys.readouterr().out
    assert "B-A" in printed and "mAP50-95 per class" in printed
    assert "(A) against" in (out / "report.html").read_text()


def test_a_model_whose_classes_disagree_with_the_dataset_is_refused(tmp_path, capsys):
    data = write_dataset(tmp_path / "three", names=("bright", "never", "extra"))
    assert main(["eval", MODEL, str(data), "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert "has 2 classes (bright, never)" in error
    assert f"{data} has 3 (bright, never, extra)" in error
    assert not (tmp_path / "out").exists()


def test_a_corrupted_model_is_a_one_line_error_naming_it(dataset, tmp_path, capsys):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(Path(MODEL).read_bytes()[:200])
    assert main(["eval", str(broken), str(dataset), "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert str(broken) in error and error.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_split_without_labels_is_refused(dataset, tmp_path, capsys):
    labels = dataset.parent / "labels" / "val"
    for path in labels.iterdir():
        path.write_text("")
    assert main(["eval", MODEL, str(dataset), "--out", str(tmp_path / "out")]) == 1
    assert "split 'val' has no labelled boxes" in capsys.readouterr().err
    labels.rename(dataset.parent / "labels_misnamed")
    assert main(["eval", MODEL, str(dataset), "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert "has no label files" in error and str(labels / "a.txt") in error


def test_unreadable_images_are_left_out_and_listed(dataset, tmp_path):
    broken = dataset.parent / "images" / "val" / "broken.png"
    broken.write_bytes(b"not a png")
    out = tmp_path / "report"
    assert main(["eval", MODEL, str(dataset), "--out", str(out)]) == 0
    metrics = read_json(out / "metrics.json")
    assert metrics["dataset"]["skipped_images"] == [str(broken)]
    assert metrics["images"] == 5
    assert metrics["overall"]["map50"] == pytest.approx(BRIGHT_AP["coco"] / 2)


def test_default_output_folder_is_never_reused(dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["eval", MODEL, str(dataset)]) == 0
    assert main(["eval", MODEL, str(dataset)]) == 0
    first = tmp_path / "runs" / "eval" / "brightness_model-val"
    assert (first / "metrics.json").is_file()
    assert (first.with_name("brightness_model-val-2") / "metrics.json").is_file()


def test_bad_conf_and_missing_dataset_are_one_line_errors(dataset, tmp_path, capsys):
    assert main(["eval", MODEL, str(dataset), "--conf", "1.5"]) == 1
    assert "--conf must be within 0-1" in capsys.readouterr().err
    assert main(["eval", MODEL, str(tmp_path / "nowhere")]) == 1
    assert "no such dataset file or folder" in capsys.readouterr().err


@pytest.mark.slow
def test_export_comparison_on_the_tiny_trained_model(tiny_models, tmp_path):
    """The real case: a trained model's ONNX export against its TFLite export on its own val
    split. fp32 exports of one model find the same boxes, so the accuracy lost must be ~0."""
    from odet_ros.evaluation import compare, evaluate_models, write_comparison

    data = tmp_path / "tiny.yaml"  # the cached dataset, wherever the cache lives
    names = ", ".join(tiny_models.names)
    data.write_text(f"path: {tiny_models.data_yaml.parent}\nval: val/images\nnames: [{names}]\n")
    onnx, tflite = evaluate_models(
        [tiny_models.model("tiny.onnx"), tiny_models.model("tiny.tflite")],
        data,
        "val",
        progress=False,
    )
    comparison = compare(onnx, tflite)
    assert onnx.evaluation.overall()["map50"] > 0.5  # the model learned the shapes
    assert abs(comparison.to_dict()["difference"]["overall"]["map50_95"]) < 0.01
    written = write_comparison(tmp_path / "out", comparison)
    assert tmp_path / "out" / "comparison.json" in written


def test_the_recommended_threshold_is_the_best_f1_confidence_rounded(dataset, tmp_path, capsys):
    from odet_ros.evaluation.threshold import advise

    out = tmp_path / "report"
    assert main(["eval", MODEL, str(dataset), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    metrics = read_json(out / "metrics.json")
    overall = metrics["overall"]
    advice = advise(overall, metrics["conf"])
    assert advice is not None
    # scores 1.0, 0.9, 0.5, 0.2: the mean F1 ("bright", and "never" at 0) is highest once c
    # (0.2, a hit) is in, so the best threshold lies under 0.2, where 0.25 leaves c out; here
    # the smoothed curve peaks at 0, and a threshold of 0 would keep every candidate box
    assert advice.best_f1_conf < 0.2
    assert advice.conf_threshold == max(0.01, round(overall["best_f1_conf"], 2)) > 0
    assert advice.recall > advice.recall_at_current == pytest.approx(1 / 3)
    assert advice.f1 > advice.f1_at_current
    assert f"recommended conf_threshold {advice.conf_threshold:g} (best-F1" in printed
    assert advise({**overall, "f1": None}, 0.25) is None  # a split without ground truth


def test_titles_name_a_bundle_by_its_folder_or_its_model_file(dataset, tmp_path):
    from odet_ros.evaluation.runner import ModelEvaluation, evaluate_model

    run = evaluate_model(MODEL, dataset, progress=False)
    exported = tmp_path / "models" / "shop-tflite-int8"
    trained = tmp_path / "train" / "shop" / "bundle"
    for folder in (exported, trained):
        folder.mkdir(parents=True)

    def named(model: Path, file: Path) -> ModelEvaluation:
        return ModelEvaluation(**{**vars(run), "model": str(model), "model_file": file})

    assert named(exported, exported / "shop.tflite").label == "shop-tflite-int8"
    assert named(trained, trained / "shop.pt").label == "shop.pt"
    assert run.label == "brightness_model.onnx"
