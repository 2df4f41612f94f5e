"""Segmentation (-seg) models through `odet train` and `odet export`: trained from their YAML
on outline labels (a box-only dataset refused first), exported to ONNX and int8 TFLite with the
mask mAP lost to the export measured beside the boxes', and the exports found by the detector
as segmentation models."""

from __future__ import annotations

import pytest

pytest.importorskip("ultralytics")

from support.models import draw_scene
from test_training import shapes_dataset

from odet_ros.cli.main import main
from odet_ros.detection import ModelBundle, load_detector
from odet_ros.training.export import ExportSettings, export_model
from odet_ros.training.train import TrainSettings, train


def test_a_segmentation_model_needs_outline_labels(tmp_path, capsys):
    data = shapes_dataset(tmp_path / "boxes", counts=(("train", 2), ("val", 1)))
    code = main(["train", "--data", str(data), "--model", "yolo11n-seg.yaml", "--epochs", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "yolo11n-seg.yaml is a segmentation model, but the train split" in err
    assert "boxes only (" in err and not (tmp_path / "runs").exists()
    assert draw_scene  # the box dataset's scenes are the seg dataset's shapes


@pytest.mark.slow
def test_training_a_segmentation_model_from_its_yaml(tmp_path, tiny_seg_models):
    result = train(
        TrainSettings(
            data=tiny_seg_models.data_yaml,
            model="yolo11n-seg.yaml",
            epochs=1,
            imgsz=64,
            batch=8,
            device="cpu",
            workers=0,
            project=tmp_path / "runs",
            name="seg",
            tensorboard=False,
        )
    )
    bundle = ModelBundle.load(result.bundle)
    assert bundle.names == tiny_seg_models.names
    masks = {k: v for k, v in bundle.metrics.items() if k.startswith("mask_")}
    assert set(masks) == {"mask_map50", "mask_map50_95", "mask_precision", "mask_recall"}
    summary = bundle.provenance["dataset"]["splits"]["train"]
    assert summary["outlines"] == summary["boxes"] > 0
    assert load_detector(result.bundle).segments


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fmt", "dynamic", "limit"),
    [
        ("onnx", True, 0.05),  # the .pt's own input rectangles: the same masks to float error
        ("tflite-int8", False, 2.0),  # a square input and int8: within --max-drop
    ],
)
def test_exports_measure_what_the_masks_lose(tmp_path, tiny_seg_models, fmt, dynamic, limit):
    result = export_model(
        ExportSettings(
            tiny_seg_models.model("seg.pt"),
            fmt,
            data=tiny_seg_models.data_yaml,
            out=tmp_path / fmt,
            dynamic=dynamic,
        )
    )
    accuracy = result.accuracy
    assert accuracy is not None and accuracy.exported.masks is not None
    metrics = ModelBundle.load(result.bundle).metrics
    assert metrics["mask_map50_95_drop_points"] == accuracy.mask_drop_points
    assert metrics["mask_map50"] > 0.8 and metrics["source_mask_map50_95"] > 0.5
    print(f"{fmt}: drop, boxes {accuracy.drop_points:+.2f}, masks {accuracy.mask_drop_points:+.2f}")
    assert abs(accuracy.mask_drop_points) <= limit and abs(accuracy.drop_points) <= limit
    assert load_detector(result.bundle).segments
