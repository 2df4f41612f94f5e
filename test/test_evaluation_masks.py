"""Mask scores equal pycocotools' COCOeval with ``iouType="segm"`` on the same predictions and
the same label polygons: random scenes with jittered, missed and invented masks, then the tiny
segmentation model through `odet eval`."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from odet_ros.dataset.reader import GroundTruth, load_split
from odet_ros.detection.instance_masks import InstanceMasks
from odet_ros.detection.types import Detections
from odet_ros.evaluation.masks import evaluate_masks
from odet_ros.labels.rle import polygon_mask

NAMES = ["cup", "can", "bottle"]


def convex(rng: np.random.Generator, centre, radius, points=None) -> np.ndarray:
    angles = np.sort(rng.uniform(0, 2 * np.pi, points or int(rng.integers(3, 10))))
    return centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])


def masks_of(full: list[np.ndarray], hw) -> InstanceMasks:
    """Full-image masks as crops at their bounds."""
    origins, crops = [], []
    for mask in full:
        rows, columns = np.nonzero(mask)
        y0, y1, x0, x1 = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
        origins.append((x0, y0))
        crops.append(mask[y0:y1, x0:x1])
    return InstanceMasks(hw, np.array(origins, np.int64).reshape(-1, 2), tuple(crops))


def random_scene(rng: np.random.Generator):
    """One image: label polygons, and predictions near some, one wrong class, some invented."""
    h, w = (int(v) for v in rng.integers(40, 120, 2))
    polygons, classes = [], []
    for _ in range(int(rng.integers(0, 6))):
        polygons.append(convex(rng, rng.uniform([5, 5], [w - 5, h - 5]), rng.uniform(4, 25)))
        classes.append(int(rng.integers(0, 3)))
    predicted, scores, labels = [], [], []
    for polygon, cls in zip(polygons, classes, strict=True):
        for _ in range(int(rng.integers(0, 3))):  # missed, found, found twice
            jitter = polygon + rng.normal(0, rng.uniform(0.2, 4), polygon.shape)
            predicted.append(jitter)
            labels.append(cls if rng.random() > 0.1 else int(rng.integers(0, 3)))
            scores.append(rng.uniform(0.05, 1))
    for _ in range(int(rng.integers(0, 3))):  # invented
        predicted.append(convex(rng, rng.uniform([0, 0], [w, h]), rng.uniform(3, 20)))
        labels.append(int(rng.integers(0, 3)))
        scores.append(rng.uniform(0, 0.6))
    full = [polygon_mask(p, h, w) for p in predicted]
    keep = [i for i, m in enumerate(full) if m.any()]
    full = [full[i] for i in keep]
    boxes = np.array([_bounds(m) for m in full], np.float32).reshape(-1, 4)
    found = Detections.from_arrays(
        boxes,
        np.array(scores)[keep],
        np.array(labels, np.int64)[keep],
        masks=masks_of(full, (h, w)),
    )
    truth_boxes = np.array([[*p.min(0), *p.max(0)] for p in polygons]).reshape(-1, 4)
    truth_boxes = np.clip(truth_boxes, 0, [w, h, w, h])
    truth = GroundTruth(truth_boxes, np.array(classes, np.int64), polygons)
    return found, truth, (h, w)


def _bounds(mask: np.ndarray) -> list[float]:
    rows, columns = np.nonzero(mask)
    return [columns.min(), rows.min(), columns.max() + 1, rows.max() + 1]


def cocoeval_segm(predictions, truths, sizes, names) -> np.ndarray:
    """pycocotools' segm stats of the same predictions (RLE of our masks) and polygons."""
    coco_mask = pytest.importorskip("pycocotools.mask")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for image_id, (found, truth, (h, w)) in enumerate(
        zip(predictions, truths, sizes, strict=True), start=1
    ):
        images.append({"id": image_id, "width": w, "height": h, "file_name": f"{image_id}.png"})
        for polygon, cls, box in zip(truth.polygons, truth.class_ids, truth.xyxy, strict=True):
            area = float(polygon_mask(polygon, h, w).sum())
            x0, y0, x1, y1 = (float(v) for v in box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(cls) + 1,
                    "segmentation": [polygon.ravel().tolist()],
                    "bbox": [
                        float(box[0]),
                        float(box[1]),
                        float(box[2] - box[0]),
                        float(box[3] - box[1]),
                    ],
                    "area": area,
                    "iscrowd": 0,
                }
            )
        for index in range(len(found)):
            rle = coco_mask.encode(np.asfortranarray(found.masks.full(index).astype(np.uint8)))
            rle["counts"] = rle["counts"].decode()
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(found.class_ids[index]) + 1,
                    "segmentation": rle,
                    "score": float(found.scores[index]),
                }
            )
    truth_api = COCO()
    truth_api.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(names)],
    }
    truth_api.createIndex()
    evaluator = COCOeval(truth_api, truth_api.loadRes(results) if results else COCO(), "segm")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return evaluator.stats


@pytest.mark.parametrize("seed", range(4))
def test_random_scenes_score_as_pycocotools_segm(seed):
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng) for _ in range(25)]
    predictions, truths, sizes = (list(part) for part in zip(*scenes, strict=True))
    ours = evaluate_masks(predictions, truths, sizes, NAMES).summary
    stats = cocoeval_segm(predictions, truths, sizes, NAMES)
    assert ours.map50_95 == pytest.approx(stats[0], abs=1e-12)
    assert ours.map50 == pytest.approx(stats[1], abs=1e-12)
    assert ours.map75 == pytest.approx(stats[2], abs=1e-12)
    assert 0.05 < ours.map50_95 < 0.95  # scenes neither trivial nor hopeless


def test_masks_are_needed_where_there_are_detections():
    truth = GroundTruth(
        np.array([[0, 0, 4, 4.0]]), np.array([0]), [np.array([[0, 0], [4, 0], [4, 4.0]])]
    )
    boxes_only = Detections.from_arrays(np.array([[0, 0, 4, 4.0]]), np.array([0.9]), np.array([0]))
    with pytest.raises(ValueError, match="image 0 carry no masks"):
        evaluate_masks([boxes_only], [truth], [(8, 8)], NAMES)
    found, _, _ = random_scene(np.random.default_rng(0))
    unlabelled = GroundTruth(np.array([[0, 0, 4, 4.0]]), np.array([0]))
    with pytest.raises(ValueError, match="image 0 has boxes but no outlines"):
        evaluate_masks([found], [unlabelled], [found.masks.image_hw], NAMES)


def test_odet_eval_of_a_segmentation_model_equals_pycocotools_segm(tiny_seg_models, tmp_path):
    from odet_ros.cli.main import main

    out = tmp_path / "eval"
    model = tiny_seg_models.model("seg.onnx")
    assert main(["eval", str(model), str(tiny_seg_models.data_yaml), "--out", str(out)]) == 0
    written = json.loads((out / "metrics.json").read_text())
    masks = written["masks"]["overall"]
    # the same predictions (the detector at the evaluation's thresholds) to pycocotools
    from odet_ros.detection import load_detector
    from odet_ros.evaluation.runner import EVAL_CONF, EVAL_MAX_DET, EVAL_NMS_IOU

    detector = load_detector(model, conf=EVAL_CONF, iou=EVAL_NMS_IOU, max_det=EVAL_MAX_DET)
    split = load_split(tiny_seg_models.data_yaml, "val")
    predictions, truths, sizes = [], [], []
    for sample in split.samples:
        image = cv2.imread(str(sample.image))
        h, w = image.shape[:2]
        predictions.append(detector.detect(image))
        truths.append(sample.ground_truth(w, h, len(split.names)))
        sizes.append((h, w))
    stats = cocoeval_segm(predictions, truths, sizes, split.names)
    assert masks["map50_95"] == pytest.approx(stats[0], abs=1e-12)
    assert masks["map50"] == pytest.approx(stats[1], abs=1e-12)
    assert masks["map50"] > 0.5  # the tiny model does find its shapes' pixels
    page = (out / "report.html").read_text()
    assert "masks (COCO segm)" in page
