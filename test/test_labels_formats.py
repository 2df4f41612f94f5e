"""Label formats: the spec-written fixtures read as they should, and conversions round-trip.

Every fixture in test/data/labels describes img_a (640x480: a car at (64, 48)-(192, 144), a person
at (320.5, 240.25)-(420.5, 290.25)) and img_b (320x240, no boxes); see its README.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
from support.dataset import make_dataset

from odet_ros.dataset.importing import import_labels
from odet_ros.dataset.label_export import export_labels
from odet_ros.dataset.layout import Dataset
from odet_ros.labels import ImageLabels, LabelSet, read_labels, write_labels
from odet_ros.labels.labelstudio import image_name

FIXTURES = Path(__file__).parent / "data" / "labels"
CAR = np.array([64, 48, 192, 144]) / np.array([640, 480, 640, 480])
PERSON = np.array([320.5, 240.25, 420.5, 290.25]) / np.array([640, 480, 640, 480])
YOLO_DECIMALS = 1e-6  # YOLO label files keep 6 decimals


def by_stem(labels: LabelSet) -> dict[str, ImageLabels]:
    return {Path(image.name).stem: image for image in labels.images}


def boxes_by_class(labels: LabelSet, image: ImageLabels) -> dict[str, np.ndarray]:
    return {labels.names[c]: box for c, box in zip(image.class_ids, image.xyxy, strict=True)}


@pytest.mark.parametrize(
    ("name", "source", "tolerance"),
    [
        ("coco", "coco/instances.json", 1e-12),
        ("voc", "voc", 1e-12),
        ("cvat", "cvat/annotations.xml", 1e-12),
        ("labelstudio", "labelstudio/export.json", 1e-12),
        ("yolo", "yolo", YOLO_DECIMALS),
        ("yolo", "yolo11", YOLO_DECIMALS),
    ],
)
def test_fixture_reads_as_its_specification_says(name, source, tolerance):
    labels = read_labels(name, FIXTURES / source)
    images = by_stem(labels)
    assert set(images) == {"img_a", "img_b"}
    boxes = boxes_by_class(labels, images["img_a"])
    assert set(boxes) == {"car", "person"}
    np.testing.assert_allclose(boxes["car"], CAR, atol=tolerance)
    np.testing.assert_allclose(boxes["person"], PERSON, atol=tolerance)
    assert len(images["img_b"]) == 0
    if name != "yolo":
        assert (images["img_a"].width, images["img_a"].height) == (640, 480)


def test_what_the_readers_skip_is_counted():
    assert read_labels("coco", FIXTURES / "coco").skipped == {"crowd regions": 1}
    assert read_labels("cvat", FIXTURES / "cvat").skipped == {"polyline shapes": 1}
    labelstudio = read_labels("labelstudio", FIXTURES / "labelstudio")
    assert labelstudio.skipped == {"choices results": 1, "tasks without annotations": 1}
    # Category ids 1 and 3 of the COCO file become classes 0 and 1, in id order.
    assert read_labels("coco", FIXTURES / "coco").names == ["person", "car"]


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("/data/upload/1/8f3a2b1c-img_a.jpg", "img_a.jpg"),
        ("/data/local-files/?d=dataset/images/img%20b.png", "img b.png"),
        ("https://example.com/a/8f3a2b1c-frame.jpg", "8f3a2b1c-frame.jpg"),  # not an upload
        ("s3://bucket/frames/x.png", "x.png"),
    ],
)
def test_label_studio_image_names(reference, name):
    assert image_name(reference) == name


def random_dataset(root: Path, seed: int) -> Path:
    """Images with random boxes, some touching the borders, written with 6 decimals."""
    rng = np.random.default_rng(seed)
    images = {}
    for index in range(6):
        corners = np.sort(rng.random((5, 2, 2)), axis=1)  # (box, corner, axis)
        corners[0, 0] = 0.0  # a box in the top-left corner
        corners[1, 1] = 1.0  # and one reaching the bottom-right one
        centre = corners.mean(axis=1)
        size = corners[:, 1] - corners[:, 0]
        rows = np.column_stack([rng.integers(0, 3, 5), centre, size])
        images[f"frame_{index}.jpg"] = [[int(r[0]), *np.round(r[1:], 6)] for r in rows]
    images["background.jpg"] = []
    make_dataset(root, ["a", "b", "c"], images, size=(97, 61))
    return root


def label_values(root: Path) -> dict[str, np.ndarray]:
    return {
        p.name: np.array(p.read_text().split(), np.float64).reshape(-1, 5)
        for p in sorted((root / "labels").glob("*.txt"))
    }


@pytest.mark.parametrize("fmt", ["coco", "voc", "cvat", "labelstudio", "yolo1.1", "yolo"])
def test_yolo_to_format_and_back_is_exact(tmp_path, fmt):
    """YOLO -> fmt -> YOLO gives the same classes and coordinates to 1e-6."""
    original = random_dataset(tmp_path / "original", seed=1)
    out = tmp_path / "export" / ("labels.zip" if fmt == "yolo1.1" else "out")
    written = export_labels(Dataset.open(original), fmt, out)
    assert written
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    shutil.rmtree(copy / "labels")
    report = import_labels(Dataset.open(copy), fmt, out)
    assert report.unmatched == [] and report.matched == 7
    before, after = label_values(original), label_values(copy)
    assert before.keys() == after.keys()
    for name, values in before.items():
        assert values.shape == after[name].shape
        np.testing.assert_array_equal(values[:, 0], after[name][:, 0])
        np.testing.assert_allclose(after[name][:, 1:], values[:, 1:], atol=1e-6, rtol=0)


def test_coco_output_loads_in_pycocotools(tmp_path):
    coco_api = pytest.importorskip("pycocotools.coco")
    root = random_dataset(tmp_path / "ds", seed=2)
    (path,) = export_labels(Dataset.open(root), "coco", tmp_path / "labels.json")
    coco = coco_api.COCO(str(path))
    assert sorted(c["name"] for c in coco.loadCats(coco.getCatIds())) == ["a", "b", "c"]
    image = next(i for i in coco.loadImgs(coco.getImgIds()) if i["file_name"] == "frame_0.jpg")
    boxes = np.array([a["bbox"] for a in coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))])
    rows = label_values(root)["frame_0.txt"]
    np.testing.assert_allclose(boxes[:, 2], rows[:, 3] * 97, atol=1e-9)  # width in pixels
    np.testing.assert_allclose(boxes[:, 0], (rows[:, 1] - rows[:, 3] / 2) * 97, atol=1e-9)


def test_written_files_follow_the_tools_layouts(tmp_path):
    labels = read_labels("coco", FIXTURES / "coco")
    write_labels("yolo1.1", labels, tmp_path / "cvat.zip")
    with zipfile.ZipFile(tmp_path / "cvat.zip") as archive:
        assert {"obj.names", "obj.data", "train.txt", "obj_train_data/img_a.txt"} <= set(
            archive.namelist()
        )
        assert archive.read("obj.names").decode().split() == ["person", "car"]
    write_labels("voc", labels, tmp_path / "voc")
    root = ET.parse(tmp_path / "voc" / "Annotations" / "img_a.xml").getroot()
    assert [o.findtext("bndbox/xmin") for o in root.iter("object")] == ["64", "320.5"]
    write_labels("cvat", labels, tmp_path / "annotations.xml")
    boxes = ET.parse(tmp_path / "annotations.xml").getroot().findall("image/box")
    assert [(b.get("label"), b.get("xtl"), b.get("ybr")) for b in boxes] == [
        ("car", "64", "144"),
        ("person", "320.5", "290.25"),
    ]


def test_label_studio_tasks_carry_predictions_in_percent(tmp_path):
    image = ImageLabels(
        "frame.jpg", [[0.1, 0.2, 0.5, 0.6]], [1], 200, 100, scores=[0.875], predicted=True
    )
    todo = ImageLabels("other.jpg", np.zeros((0, 4)), [], 200, 100, labelled=False)
    write_labels(
        "labelstudio", LabelSet(["a", "b"], [image, todo]), tmp_path / "ls", model_version="m1"
    )
    tasks = json.loads((tmp_path / "ls" / "tasks.json").read_text())
    assert tasks[0]["data"]["image"] == "/data/local-files/?d=images/frame.jpg"
    (prediction,) = tasks[0]["predictions"]
    assert prediction["model_version"] == "m1" and prediction["score"] == 0.875
    (result,) = prediction["result"]
    assert result["value"]["rectanglelabels"] == ["b"] and result["score"] == 0.875
    value = result["value"]
    assert [value[k] for k in ("x", "y", "width", "height")] == pytest.approx([10, 20, 40, 40])
    assert "annotations" not in tasks[1] and "predictions" not in tasks[1]
    config = ET.parse(tmp_path / "ls" / "labeling_config.xml").getroot()
    assert [label.get("value") for label in config.iter("Label")] == ["a", "b"]
