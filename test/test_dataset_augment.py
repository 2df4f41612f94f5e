"""`odet dataset augment` and `preprocess`: boxes follow the pixels, checked against drawn masks."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from support.dataset import make_dataset

from odet_ros.dataset.augment import (
    AugmentSettings,
    apply_geometry,
    augment_dataset,
    draw_plan,
    transform_boxes,
)
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import ManifestRow, read_manifest, write_manifest
from odet_ros.dataset.preprocess import PreprocessSettings, preprocess_dataset
from odet_ros.dataset.split import SplitSettings, split_dataset
from odet_ros.errors import OdetError
from odet_ros.labels.boxes import area
from odet_ros.labels.polygons import bounds, clip
from odet_ros.labels.rle import polygon_mask
from odet_ros.labels.yolo import format_yolo, read_label_file, read_label_outlines

HEIGHT, WIDTH = 60, 80


def scene(seed: int, objects: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A label mask (object k drawn with value k + 1) and each object's tight pixel box."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    boxes = []
    for k in range(objects):
        w, h = rng.integers(8, 30), rng.integers(8, 25)
        x, y = rng.integers(0, WIDTH - w), rng.integers(0, HEIGHT - h)
        cv2.ellipse(
            mask,
            (int(x + w // 2), int(y + h // 2)),
            (int(w // 2), int(h // 2)),
            0,
            0,
            360,
            k + 1,
            -1,
        )
    for k in range(objects):
        ys, xs = np.nonzero(mask == k + 1)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) else [0, 0, 0, 0])
    return mask, np.array(boxes, np.float64)


def assert_boxes_cover(
    mask: np.ndarray, boxes: np.ndarray, object_ids: list[int], tolerance: float = 1e-9
) -> None:
    """Every kept box covers every visible pixel of its object."""
    for box, object_id in zip(boxes, object_ids, strict=True):
        ys, xs = np.nonzero(mask == object_id)
        assert len(xs), f"object {object_id} kept but not visible"
        assert box[0] <= xs.min() + tolerance and xs.max() + 1 <= box[2] + tolerance
        assert box[1] <= ys.min() + tolerance and ys.max() + 1 <= box[3] + tolerance


def test_transformed_boxes_cover_their_objects():
    settings = AugmentSettings(crop_probability=1.0, min_crop_scale=0.4, min_visibility=0.25)
    rng = np.random.default_rng(0)
    flips = dropped = 0
    for seed in range(150):
        mask, boxes = scene(seed)
        present = area(boxes) > 0
        plan = draw_plan(rng, settings, WIDTH, HEIGHT)
        out = apply_geometry(mask, plan)
        moved, keep = transform_boxes(boxes, plan, settings.min_visibility)
        keep &= present
        assert_boxes_cover(out, moved[keep], [k + 1 for k in np.flatnonzero(keep)])
        x0, y0, x1, y1 = plan.crop
        visible = area(np.clip(boxes, [x0, y0, x0, y0], [x1, y1, x1, y1]))
        np.testing.assert_array_equal(
            keep, present & (visible > 0) & (visible >= 0.25 * area(boxes))
        )
        flips += plan.flip
        dropped += int((present & ~keep).sum())
    assert 40 < flips < 110 and dropped > 0  # both branches were exercised


def mask_dataset(root, count=6):
    """A PNG dataset whose images are label masks (lossless) with YOLO labels of the objects."""
    dataset = Dataset.create(root)
    dataset.write_data_yaml(["a", "b", "c", "d"])
    rows = []
    for index in range(count):
        mask, boxes = scene(100 + index)
        name = f"frame{index}.png"
        cv2.imwrite(str(dataset.image_path(name)), mask)
        normalised = boxes / np.array([WIDTH, HEIGHT] * 2)
        dataset.label_path(name).write_text(format_yolo(np.arange(4), normalised))
        rows.append(
            ManifestRow(name, "bag", "/cam", index, index, WIDTH, HEIGHT, "mono8", f"g{index}")
        )
    write_manifest(dataset.manifest_path, rows)
    return dataset


def test_augmented_copies_on_disk_keep_their_boxes_on_their_objects(tmp_path):
    dataset = mask_dataset(tmp_path / "ds")
    split_dataset(dataset, SplitSettings((0.5, 0.5, 0.0)))
    train = [p.rsplit("/", 1)[1] for p in dataset.split_list("train").read_text().split()]
    no_light = AugmentSettings(brightness=0, exposure=0, blur_probability=0, crop_probability=0.8)
    report = augment_dataset(dataset, 3, no_light, seed=5)
    assert (report.sources, report.copies) == (len(train), 3 * len(train))

    rows = {row.file: row for row in read_manifest(dataset.manifest_path)}
    copies = [row for row in rows.values() if row.origin]
    assert len(copies) == 3 * len(train) and {c.origin for c in copies} == set(train)
    listed = dataset.split_list("train").read_text().split()
    for copy in copies:
        assert copy.group == rows[copy.origin].group
        assert str(dataset.image_path(copy.file)) in listed
        image = cv2.imread(str(dataset.image_path(copy.file)), cv2.IMREAD_UNCHANGED)
        assert (copy.width, copy.height) == (image.shape[1], image.shape[0])
        class_ids, xyxy = read_label_file(dataset.label_path(copy.file))
        pixels = xyxy * np.array([copy.width, copy.height] * 2)
        # 6-decimal label files: compare to a 1e-6 share of the image, not exactly.
        assert_boxes_cover(image, pixels, list(class_ids + 1), tolerance=1e-6 * WIDTH)


def test_augment_needs_a_train_split_and_reruns_replace_copies(tmp_path):
    dataset = mask_dataset(tmp_path / "ds", count=3)
    with pytest.raises(OdetError, match="no train split to augment"):
        augment_dataset(dataset, 2)
    augment_dataset(dataset, 3, all_images=True, seed=1)
    first = {p.name: p.read_bytes() for p in dataset.images_dir.iterdir()}
    assert len(first) == 3 + 9
    report = augment_dataset(dataset, 2, all_images=True, seed=1)
    again = {p.name: p.read_bytes() for p in dataset.images_dir.iterdir()}
    assert report.removed == 9 and len(again) == 3 + 6
    assert all(again[name] == first[name] for name in again)  # same seed, same copies
    assert len(read_manifest(dataset.manifest_path)) == 3 + 6


def single_object_dataset(root):
    """Grey images of one bright rectangle each (resampling cannot mix two objects)."""
    dataset = Dataset.create(root)
    dataset.write_data_yaml(["box"])
    boxes = {"a.png": (12, 8, 40, 30), "b.png": (5, 40, 30, 60), "c.png": (60, 2, 80, 12)}
    for name, (x0, y0, x1, y1) in boxes.items():
        image = np.zeros((HEIGHT, WIDTH), np.uint8)
        image[y0:y1, x0:x1] = 200
        cv2.imwrite(str(dataset.image_path(name)), image)
        xyxy = np.array([[x0, y0, x1, y1]]) / np.array([WIDTH, HEIGHT] * 2)
        dataset.label_path(name).write_text(format_yolo(np.zeros(1, int), xyxy))
    return dataset


@pytest.mark.parametrize("mode", ["letterbox", "stretch"])
def test_preprocess_resize_and_crop_keep_boxes_on_objects(tmp_path, mode):
    dataset = single_object_dataset(tmp_path / "ds")
    settings = PreprocessSettings(
        size=(64, 64), mode=mode, crop=(10, 5, 70, 55), min_visibility=0.5
    )
    target, report = preprocess_dataset(dataset, tmp_path / mode, settings)
    assert (report.images, report.dropped_boxes) == (3, 1)  # c.png's box is mostly cropped off
    assert target.label_path("c.png").read_text() == ""
    for name in ("a.png", "b.png"):
        image = cv2.imread(str(target.image_path(name)), cv2.IMREAD_UNCHANGED)
        assert image.shape == (64, 64)
        (box,) = read_label_file(target.label_path(name))[1] * 64
        ys, xs = np.nonzero(image > 160)  # the object (200), not the grey bars (114)
        tight = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        np.testing.assert_allclose(box, tight, atol=1.0)  # resampling moves edges < 1 px
    image = cv2.imread(str(target.image_path("a.png")), cv2.IMREAD_UNCHANGED)
    if mode == "letterbox":  # 60x50 into 64x64: scale 64/60, grey bars above and below
        assert (image[:5] == 114).all() and (image[-5:] == 114).all()
    else:
        assert not (image == 114).any()
    with pytest.raises(OdetError, match="already holds images"):
        preprocess_dataset(dataset, tmp_path / mode, PreprocessSettings())


def jpeg_with_orientation(image: np.ndarray, orientation: int) -> bytes:
    """A JPEG whose EXIF (APP1) says how to turn it for display."""
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + b"\x00\x00\x00\x00"
    app1 = b"Exif\x00\x00" + tiff
    jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 100])[1].tobytes()
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def test_preprocess_auto_orients_from_exif(tmp_path):
    image = np.zeros((40, 60, 3), np.uint8)
    image[:10, :20] = 255  # a white patch top-left as stored
    dataset = make_dataset(tmp_path / "ds", ["x"], {"photo.jpg": None})
    dataset.image_path("photo.jpg").write_bytes(jpeg_with_orientation(image, 6))
    target, _ = preprocess_dataset(dataset, tmp_path / "oriented", PreprocessSettings())
    shown = cv2.imread(
        str(target.image_path("photo.jpg")), cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_COLOR
    )
    assert shown.shape[:2] == (60, 40)  # turned 90 degrees clockwise: the patch is top-right
    assert shown[:20, -10:].mean() > 200 and shown[:20, :10].mean() < 50
    kept, _ = preprocess_dataset(
        dataset, tmp_path / "as_stored", PreprocessSettings(auto_orient=False)
    )
    assert cv2.imread(str(kept.image_path("photo.jpg"))).shape[:2] == (40, 60)


def outline_scene(seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """A label mask of four convex outlines (object k drawn with value k + 1, one per quarter of
    the image so that none hides another) and the outlines in pixels."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    outlines = []
    for k, (cx, cy) in enumerate([(20, 15), (60, 15), (20, 45), (60, 45)]):
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(4, 9))))
        radius = rng.uniform(6, 14, 2)
        outline = np.column_stack(
            [cx + radius[0] * np.cos(angles), cy + radius[1] * np.sin(angles)]
        )
        mask[polygon_mask(outline, HEIGHT, WIDTH)] = k + 1
        outlines.append(outline)
    return mask, outlines


def outline_dataset(root, count: int = 6) -> Dataset:
    """A PNG dataset whose images are label masks with YOLO-seg labels of the objects."""
    dataset = Dataset.create(root)
    dataset.write_data_yaml(["a", "b", "c", "d"])
    rows = []
    for index in range(count):
        mask, outlines = outline_scene(200 + index)
        name = f"frame{index}.png"
        cv2.imwrite(str(dataset.image_path(name)), mask)
        normalised = [o / [WIDTH, HEIGHT] for o in outlines]
        text = format_yolo(np.arange(4), bounds(normalised), normalised)
        dataset.label_path(name).write_text(text)
        rows.append(
            ManifestRow(name, "bag", "/cam", index, index, WIDTH, HEIGHT, "mono8", f"g{index}")
        )
    write_manifest(dataset.manifest_path, rows)
    return dataset


def assert_outlines_fill_their_objects(
    image: np.ndarray, class_ids: np.ndarray, xyxy: np.ndarray, polygons: list[np.ndarray]
) -> None:
    """Each kept outline fills its object's pixels in the image (which is the label mask), and
    its box is its bounds."""
    height, width = image.shape[:2]
    np.testing.assert_allclose(xyxy, bounds(polygons), atol=1e-6)
    for class_id, polygon in zip(class_ids, polygons, strict=True):
        drawn = polygon_mask(polygon * [width, height], height, width)
        actual = image == class_id + 1
        iou = (drawn & actual).sum() / (drawn | actual).sum()
        assert iou > (0.9 if actual.sum() >= 30 else 0.5), (class_id, iou, actual.sum())


def test_augmented_copies_keep_their_outlines_on_their_objects(tmp_path):
    dataset = outline_dataset(tmp_path / "ds")
    no_light = AugmentSettings(
        brightness=0, exposure=0, blur_probability=0, crop_probability=1.0, min_crop_scale=0.5
    )
    report = augment_dataset(dataset, 4, no_light, seed=3, all_images=True)
    assert report.copies == 24 and report.dropped_boxes > 0
    rows = [row for row in read_manifest(dataset.manifest_path) if row.origin]
    kept = 0
    for row in rows:
        image = cv2.imread(str(dataset.image_path(row.file)), cv2.IMREAD_UNCHANGED)
        class_ids, xyxy, polygons = read_label_outlines(dataset.label_path(row.file))
        assert polygons is not None
        assert_outlines_fill_their_objects(image, class_ids, xyxy, polygons)
        visible = {int(v) - 1 for v in np.unique(image) if v}
        assert set(class_ids.tolist()) <= visible
        kept += len(class_ids)
    assert 24 < kept < 96  # crops dropped some objects and kept most


@pytest.mark.parametrize("mode", ["letterbox", "stretch"])
def test_preprocess_moves_outlines_with_the_pixels(tmp_path, mode):
    dataset = outline_dataset(tmp_path / "ds", count=3)
    window = (10, 5, 75, 55)
    settings = PreprocessSettings(size=(96, 96), mode=mode, crop=window, min_visibility=0.2)
    target, report = preprocess_dataset(dataset, tmp_path / mode, settings)
    assert report.images == 3
    for index in range(3):
        name = f"frame{index}.png"
        image = cv2.imread(str(target.image_path(name)), cv2.IMREAD_UNCHANGED)
        picture = np.argwhere(image != 114)  # the label values, not the grey bars
        (top, left), (bottom, right) = picture.min(0), picture.max(0) + 1
        scale = np.array([(right - left) / 65, (bottom - top) / 50])
        class_ids, xyxy, polygons = read_label_outlines(target.label_path(name))
        _, outlines = outline_scene(200 + index)
        assert polygons is not None and len(polygons) == len(class_ids) > 0
        for class_id, polygon in zip(class_ids, polygons, strict=True):
            back = (polygon * 96 - [left, top]) / scale + window[:2]
            expected = clip(outlines[class_id], window)
            np.testing.assert_allclose(back, expected, atol=1e-3)  # label files: 6 decimals
        np.testing.assert_allclose(xyxy, bounds(polygons), atol=1e-6)
