"""Instance outlines in every format that carries them: the seg fixtures read as their
specifications say (see test/data/labels/README.md), conversions round-trip, COCO's rasteriser
and RLE are pycocotools' own, and a box-only image stays boxes."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from support.dataset import make_dataset

from odet_ros.dataset.importing import import_labels
from odet_ros.dataset.label_export import export_labels
from odet_ros.dataset.layout import Dataset
from odet_ros.labels import ImageLabels, LabelSet, read_labels, write_labels
from odet_ros.labels.polygons import area, clip, mask_outline, merge_parts
from odet_ros.labels.rle import (
    decode_brush,
    decode_coco_rle,
    decode_counts,
    encode_counts,
    polygon_mask,
    rle_counts,
)
from odet_ros.labels.yolo import parse_yolo

SEG = Path(__file__).parent / "data" / "labels" / "seg"
WIDTH, HEIGHT = 160, 120
CUP = np.array([[20, 20], [60, 20], [70, 50], [40, 80], [15, 60]], np.float64)
CAN = np.array([[100, 30], [130, 25], [145, 60], [130, 100], [105, 95], [95, 60]], np.float64)
PART_A = np.array([[10, 95], [30, 95], [30, 115], [10, 115]], np.float64)
PART_B = np.array([[45, 95], [65, 95], [65, 115], [45, 115]], np.float64)
SCALE = np.array([WIDTH, HEIGHT], np.float64)


def coco_pixels(polygons: list[np.ndarray]) -> np.ndarray:
    """What COCO makes of an object's polygons: the union of each one's pixels (polygon_mask is
    pycocotools' rasteriser, checked below where pycocotools is installed)."""
    return np.logical_or.reduce([polygon_mask(p, HEIGHT, WIDTH) for p in polygons])


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("name", ["yolo", "coco", "labelstudio", "cvat"])
def test_seg_fixture_reads_as_its_specification_says(name):
    labels = read_labels(name, SEG / name)
    assert labels.names == ["cup", "can"] and labels.skipped == {}
    (image,) = labels.images
    assert Path(image.name).stem == "img_s"
    assert image.class_ids.tolist() == [0, 1, 0]
    cup, can, cut = (polygon * SCALE for polygon in image.polygons)
    exact = 1e-6 * WIDTH if name == "yolo" else 1e-9  # YOLO files keep 6 decimals
    np.testing.assert_allclose(cup, CUP, atol=exact)
    if name in ("coco", "labelstudio"):  # an RLE mask / a brush: its traced outline
        assert mask_iou(polygon_mask(can, HEIGHT, WIDTH), coco_pixels([CAN])) == 1.0
    else:
        np.testing.assert_allclose(can, CAN, atol=exact)
    if name in ("yolo", "coco"):  # the two parts as one ring covering both
        assert mask_iou(polygon_mask(cut, HEIGHT, WIDTH), coco_pixels([PART_A, PART_B])) == 1.0
    else:  # a box beside outlines becomes its rectangle
        np.testing.assert_allclose(cut, [[10, 95], [65, 95], [65, 115], [10, 115]], atol=1e-9)
    box = np.array([*cup.min(0), *cup.max(0)]) / np.tile(SCALE, 2)
    np.testing.assert_allclose(image.xyxy[0], box, atol=1e-12)  # a box is its outline's bounds


def test_polygon_mask_is_pycocotools_rasteriser():
    coco_mask = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(0)
    for trial in range(500):
        height, width = (int(v) for v in rng.integers(5, 60, 2))
        polygon = rng.uniform(-5, max(height, width) + 5, (int(rng.integers(3, 12)), 2))
        if trial % 3 == 0:
            polygon = np.round(polygon * 2) / 2  # vertices on pixel edges and centres
        reference = coco_mask.decode(
            coco_mask.frPyObjects([polygon.ravel().tolist()], height, width)
        )[:, :, 0]
        np.testing.assert_array_equal(polygon_mask(polygon, height, width), reference.astype(bool))


def test_rle_counts_are_pycocotools_in_both_forms():
    coco_mask = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(1)
    for _ in range(200):
        height, width = (int(v) for v in rng.integers(1, 40, 2))
        mask = rng.random((height, width)) < rng.uniform(0.05, 0.95)
        encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
        text = encoded["counts"].decode()
        counts = rle_counts(mask)
        assert encode_counts(counts) == text and decode_counts(text) == counts
        for form in (text, counts):
            segmentation = {"size": [height, width], "counts": form}
            np.testing.assert_array_equal(decode_coco_rle(segmentation, "x"), mask)


def test_brush_and_coco_rle_of_the_fixture_are_the_same_mask():
    task = json.loads((SEG / "labelstudio" / "export.json").read_text())[0]
    brush = next(r for r in task["annotations"][0]["result"] if r["type"] == "brushlabels")
    painted = decode_brush(brush["value"]["rle"], WIDTH, HEIGHT)
    coco = json.loads((SEG / "coco" / "instances.json").read_text())
    encoded = decode_coco_rle(coco["annotations"][1]["segmentation"], "fixture")
    np.testing.assert_array_equal(painted, encoded)
    np.testing.assert_array_equal(painted, coco_pixels([CAN]))
    with pytest.raises(ValueError, match="not 160x100 RGBA"):
        decode_brush(brush["value"]["rle"], WIDTH, 100)


def test_mask_outline_runs_along_pixel_edges():
    rng = np.random.default_rng(2)
    for _ in range(50):
        mask = np.zeros((60, 80), bool)
        for _ in range(int(rng.integers(1, 4))):  # one to three blobs: parts joined
            x, y = rng.integers(5, 70), rng.integers(5, 50)
            w, h = rng.integers(3, 20), rng.integers(3, 20)
            mask[y : y + h, x : x + w] = True
        outline = mask_outline(mask)
        assert mask_iou(polygon_mask(outline, 60, 80), mask) > 0.97
    one = np.zeros((5, 5), bool)
    one[2, 3] = True
    assert polygon_mask(mask_outline(one), 5, 5)[2, 3]
    assert mask_outline(np.zeros((4, 4), bool)).shape == (0, 2)


def test_clip_and_merge():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.float64)
    assert area(clip(square, (5, -1, 20, 20))) == 50
    assert clip(square, (11, 0, 20, 20)).shape == (0, 2)
    concave = np.array([[0, 0], [10, 0], [10, 10], [7, 10], [7, 3], [3, 3], [3, 10], [0, 10]])
    assert area(clip(concave.astype(float), (0, 5, 10, 10))) == pytest.approx(30)
    ring = merge_parts([PART_A, PART_B])
    assert area(ring) == pytest.approx(area(PART_A) + area(PART_B))


def random_seg_dataset(root: Path, seed: int) -> Path:
    """Images with random convex outlines, some touching the borders, with 6 decimals."""
    rng = np.random.default_rng(seed)
    images: dict[str, list[list[float]] | None] = {}
    for index in range(5):
        rows = []
        for k in range(4):
            centre = rng.uniform(0.2, 0.8, 2)
            angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 9))))
            radius = rng.uniform(0.05, 0.2)
            points = centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])
            if k == 0:
                points[:, 0] -= points[:, 0].min()  # touching the left border
            rows.append([int(rng.integers(0, 3)), *np.round(np.clip(points, 0, 1), 6).ravel()])
        images[f"frame_{index}.jpg"] = rows
    images["background.jpg"] = []
    images["boxes_only.jpg"] = [[1, 0.5, 0.5, 0.2, 0.3]]
    make_dataset(root, ["a", "b", "c"], images, size=(97, 61))
    return root


def label_lines(root: Path) -> dict[str, list[np.ndarray]]:
    return {
        p.name: [np.array(line.split(), np.float64) for line in p.read_text().splitlines()]
        for p in sorted((root / "labels").glob("*.txt"))
    }


@pytest.mark.parametrize("fmt", ["coco", "labelstudio", "cvat", "yolo"])
def test_yolo_seg_to_format_and_back_is_exact(tmp_path, fmt):
    original = random_seg_dataset(tmp_path / "original", seed=3)
    out = tmp_path / "export" / "out"
    assert export_labels(Dataset.open(original), fmt, out)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    shutil.rmtree(copy / "labels")
    report = import_labels(Dataset.open(copy), fmt, out)
    assert report.matched == 7 and report.clipped == 0 and report.empty == 0
    before, after = label_lines(original), label_lines(copy)
    assert before.keys() == after.keys()
    for name, rows in before.items():
        assert [len(r) for r in rows] == [len(r) for r in after[name]], name
        for row, again in zip(rows, after[name], strict=True):
            assert row[0] == again[0]
            np.testing.assert_allclose(again[1:], row[1:], atol=1e-6, rtol=0)
    assert len(after["boxes_only.txt"][0]) == 5  # a box-only image stays boxes


def test_coco_export_of_outlines_is_what_pycocotools_rasterises(tmp_path):
    COCO = pytest.importorskip("pycocotools.coco").COCO

    root = random_seg_dataset(tmp_path / "ds", seed=4)
    (path,) = export_labels(Dataset.open(root), "coco", tmp_path / "labels.json")
    coco = COCO(str(path))
    lines = label_lines(root)
    checked = 0
    for image in coco.loadImgs(coco.getImgIds()):
        rows = lines.get(Path(image["file_name"]).stem + ".txt", [])
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        assert len(annotations) == len(rows)
        for annotation, row in zip(annotations, rows, strict=True):
            if len(row) == 5:
                assert annotation["segmentation"] == []
                continue
            polygon = row[1:].reshape(-1, 2) * [97, 61]
            expected = polygon_mask(polygon, 61, 97)
            np.testing.assert_array_equal(coco.annToMask(annotation).astype(bool), expected)
            assert annotation["area"] == pytest.approx(area(polygon))
            checked += 1
    assert checked == 20


def test_label_studio_and_cvat_write_polygons_for_outlines(tmp_path):
    outline = np.array([[0.1, 0.2], [0.5, 0.2], [0.3, 0.6]])
    image = ImageLabels(
        "frame.jpg",
        [[0.1, 0.2, 0.5, 0.6]],
        [1],
        200,
        100,
        scores=[0.875],
        predicted=True,
        polygons=[outline],
    )
    labels = LabelSet(["a", "b"], [image])
    write_labels("labelstudio", labels, tmp_path / "ls")
    (result,) = json.loads((tmp_path / "ls" / "tasks.json").read_text())[0]["predictions"][0][
        "result"
    ]
    assert result["type"] == "polygonlabels" and result["score"] == 0.875
    assert result["value"]["polygonlabels"] == ["b"]
    np.testing.assert_allclose(result["value"]["points"], outline * 100)
    config = ET.parse(tmp_path / "ls" / "labeling_config.xml").getroot()
    assert [c.tag for c in config if c.tag.endswith("Labels")] == ["PolygonLabels"]
    write_labels("cvat", labels, tmp_path / "annotations.xml")
    (polygon,) = ET.parse(tmp_path / "annotations.xml").getroot().findall("image/polygon")
    assert polygon.get("points") == "20,20;100,20;60,60" and polygon.get("source") == "auto"


def test_a_box_beside_outlines_is_written_as_its_rectangle(tmp_path):
    dataset = make_dataset(tmp_path / "ds", ["a", "b"], {"x.jpg": None})
    source = tmp_path / "cvat.xml"
    source.write_text(
        '<annotations><image name="x.jpg" width="64" height="48">'
        '<polygon label="a" points="8,8;24,8;16,24"/>'
        '<box label="b" xtl="32" ytl="12" xbr="48" ybr="36"/></image></annotations>'
    )
    import_labels(dataset, "cvat", source)
    parsed = parse_yolo(dataset.label_path("x.jpg").read_text())
    assert parsed.problems == [] and parsed.polygons is not None
    np.testing.assert_allclose(
        parsed.polygons[1] * [64, 48], [[32, 12], [48, 12], [48, 36], [32, 36]], atol=1e-4
    )


def test_import_cuts_outlines_at_the_image_border(tmp_path):
    dataset = make_dataset(tmp_path / "ds", ["a"], {"x.jpg": None})
    source = tmp_path / "cvat.xml"
    source.write_text(
        '<annotations><image name="x.jpg" width="100" height="50">'
        '<polygon label="a" points="80,10;130,10;130,40;80,40"/>'  # half outside: cut
        '<polygon label="a" points="110,10;130,10;120,40"/>'  # wholly outside: dropped
        '<polygon label="a" points="10,10;30,10;20,40"/></image></annotations>'
    )
    report = import_labels(dataset, "cvat", source)
    assert (report.boxes, report.clipped, report.empty) == (2, 1, 1)
    parsed = parse_yolo(dataset.label_path("x.jpg").read_text())
    cut = parsed.polygons[0] * [100, 50]
    assert area(cut) == pytest.approx(20 * 30, abs=0.1) and cut[:, 0].max() <= 100
    np.testing.assert_allclose(parsed.rows[0, 1:], [0.9, 0.5, 0.2, 0.6], atol=1e-6)
