"""`odet label`: pre-labels from a real ONNX model, marked as such, and the tool packages.

The model is test/data/brightness_model.onnx: one fixed box (the middle half of a square image)
whose class-0 ("bright") score is the image's mean brightness, so what it must find is known.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from odet_ros.cli.main import main
from odet_ros.dataset.check import check_dataset
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.labels.yolo import read_label_file

pytest.importorskip("onnxruntime")
MODEL = Path(__file__).parent / "data" / "brightness_model.onnx"
BRIGHTNESS = {"bright_a.jpg": 230, "bright_b.jpg": 200, "dark.jpg": 20, "person.jpg": 240}


@pytest.fixture
def dataset(tmp_path):
    dataset = Dataset.create(tmp_path / "ds")
    for name, level in BRIGHTNESS.items():
        cv2.imwrite(str(dataset.image_path(name)), np.full((128, 128, 3), level, np.uint8))
    dataset.label_path("person.jpg").write_text("0 0.1 0.1 0.1 0.1\n")  # a person's label
    return dataset


def run_label(dataset, *extra):
    return main(["label", str(dataset.root), "--model", str(MODEL), "--conf", "0.5", *extra])


def test_prelabels_are_written_marked_and_packaged(dataset, capsys):
    assert run_label(dataset) == 0
    assert "3 of 3 images pre-labelled (2 boxes); 1 with reviewed labels left alone" in (
        capsys.readouterr().out
    )
    assert dataset.names() == ["bright", "never"]
    for name in ("bright_a.jpg", "bright_b.jpg"):
        class_ids, xyxy = read_label_file(dataset.label_path(name))
        np.testing.assert_array_equal(class_ids, [0])
        np.testing.assert_allclose(xyxy, [[0.25, 0.25, 0.75, 0.75]], atol=1e-6)
    assert dataset.label_path("dark.jpg").read_text() == ""  # looked at, nothing found
    assert dataset.label_path("person.jpg").read_text() == "0 0.1 0.1 0.1 0.1\n"

    prelabels = json.loads(dataset.prelabels_path.read_text())
    assert set(prelabels) == {"bright_a.txt", "bright_b.txt", "dark.txt"}
    assert prelabels["bright_a.txt"]["model"] == "brightness_model.onnx"
    assert prelabels["bright_a.txt"]["scores"] == [pytest.approx(230 / 255, abs=0.01)]

    tasks = {
        t["data"]["image"].rsplit("/", 1)[1]: t
        for t in json.loads((dataset.root / "labelling/labelstudio/tasks.json").read_text())
    }
    (prediction,) = tasks["bright_b.jpg"]["predictions"]
    assert prediction["model_version"] == "brightness_model.onnx"
    (result,) = prediction["result"]
    assert result["score"] == pytest.approx(200 / 255, abs=0.01)
    value = result["value"]
    assert [value[k] for k in ("x", "y", "width", "height")] == pytest.approx([25, 25, 50, 50])
    assert value["rectanglelabels"] == ["bright"]
    assert "annotations" in tasks["person.jpg"] and "predictions" not in tasks["person.jpg"]

    with zipfile.ZipFile(dataset.root / "labelling/cvat_yolo1.1.zip") as archive:
        assert archive.read("obj.names").decode().split() == ["bright", "never"]
        assert archive.read("obj_train_data/bright_a.txt").decode().startswith("0 0.5")
    coco = json.loads((dataset.root / "labelling/coco.json").read_text())
    assert len(coco["images"]) == 4 and len(coco["annotations"]) == 3
    scores = sorted(a["score"] for a in coco["annotations"] if "score" in a)
    assert scores == pytest.approx([200 / 255, 230 / 255], abs=0.01)


def test_reviewed_labels_replace_prelabels_and_are_kept(dataset, tmp_path, capsys):
    assert run_label(dataset) == 0
    assert len(check_dataset(dataset).warnings) == 1  # the unreviewed pre-labels
    reviewed = [
        {
            "data": {"image": "/data/local-files/?d=images/bright_a.jpg"},
            "annotations": [
                {
                    "result": [
                        {
                            "type": "rectanglelabels",
                            "original_width": 128,
                            "original_height": 128,
                            "value": {
                                "x": 10,
                                "y": 10,
                                "width": 30,
                                "height": 30,
                                "rectanglelabels": ["bright"],
                            },
                        }
                    ]
                }
            ],
        }
    ]
    export = tmp_path / "reviewed.json"
    export.write_text(json.dumps(reviewed))
    into = ["--into", str(dataset.root)]
    assert main(["dataset", "import", "--format", "labelstudio", str(export), *into]) == 0
    assert "pre-labels replaced by reviewed labels: 1" in capsys.readouterr().out
    assert "bright_a.txt" not in Prelabels.load(dataset)
    reviewed_text = dataset.label_path("bright_a.jpg").read_text()
    assert reviewed_text == "0 0.250000 0.250000 0.300000 0.300000\n"

    assert run_label(dataset) == 0  # again: pre-labels are redone, reviewed labels kept
    assert "2 of 2 images pre-labelled" in capsys.readouterr().out
    assert dataset.label_path("bright_a.jpg").read_text() == reviewed_text
    assert run_label(dataset, "--overwrite") == 0
    assert "4 of 4 images pre-labelled" in capsys.readouterr().out
    assert dataset.label_path("person.jpg").read_text() != "0 0.1 0.1 0.1 0.1\n"


def test_a_missing_model_is_a_one_line_error(dataset, capsys):
    code = main(["label", str(dataset.root), "--model", str(dataset.root / "nope.onnx")])
    assert code == 1
    assert "nope.onnx" in capsys.readouterr().err
    assert not dataset.prelabels_path.exists()


@pytest.mark.slow  # the tiny segmentation model (trained on first use)
def test_a_segmentation_model_pre_labels_outlines(tmp_path, tiny_seg_models):
    import shutil

    from odet_ros.labels.rle import polygon_mask
    from odet_ros.labels.yolo import read_label_outlines

    dataset = Dataset.create(tmp_path / "shapes")
    for path in tiny_seg_models.images:
        shutil.copy(path, dataset.image_path(path.name))
    model = tiny_seg_models.model("seg.onnx")
    assert main(["label", str(dataset.root), "--model", str(model), "--conf", "0.25"]) == 0
    reference = tiny_seg_models.reference("seg.onnx")
    for path in dataset.image_paths():
        class_ids, _, polygons = read_label_outlines(dataset.label_path(path))
        expected = reference[path.name]
        assert class_ids.tolist() == expected.detections.class_ids.tolist()
        assert polygons is not None
        for polygon, mask in zip(polygons, expected.masks, strict=True):
            h, w = mask.shape  # the outline fills the model's mask back
            drawn = polygon_mask(polygon * [w, h], h, w)
            assert (drawn & mask).sum() / (drawn | mask).sum() > 0.97
    tasks = json.loads((dataset.root / "labelling" / "labelstudio" / "tasks.json").read_text())
    kinds = {r["type"] for t in tasks for p in t.get("predictions", []) for r in p["result"]}
    assert kinds == {"polygonlabels"}
    config = (dataset.root / "labelling" / "labelstudio" / "labeling_config.xml").read_text()
    assert "<PolygonLabels" in config
    assert not check_dataset(dataset).errors
