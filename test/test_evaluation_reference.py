"""Our metrics against the references: pycocotools' COCOeval, faster-coco-eval and Ultralytics.

The predictions are random but seeded: several classes, images without ground truth, a class
that is never predicted, a class predicted but never labelled, an image with more boxes of one
class than COCO's maxDets, and IoUs spread across all thresholds. The references are optional
(workstation only); each test skips where its reference is not installed.
"""

from __future__ import annotations

import contextlib
import io
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odet_ros.detection.types import Detections
from odet_ros.evaluation import GroundTruth, evaluate_detections

NAMES = ["a", "b", "never_predicted", "never_labelled"]
TOLERANCE = 0.001  # the bar; the figures agree far closer


def synthetic(seed: int, images: int = 60) -> tuple[list[Detections], list[GroundTruth]]:
    rng = np.random.default_rng(seed)
    predictions, truths = [], []
    for i in range(images):
        n = int(rng.integers(1, 8)) if i % 5 else 0
        corner = rng.uniform(0, 500, (n, 2))
        gt = np.concatenate([corner, corner + rng.uniform(15, 120, (n, 2))], axis=1)
        gt_classes = rng.integers(0, 3, n)  # "never_labelled" has no ground truth
        truths.append(GroundTruth(gt, gt_classes))
        seen = rng.random(n) < 0.85
        jitter = rng.normal(0, rng.uniform(0.5, 6, (seen.sum(), 1)), (seen.sum(), 4))
        hits = gt[seen] + jitter
        hit_classes = np.where(rng.random(seen.sum()) < 0.9, gt_classes[seen], 1)
        extra = 150 if i == 7 else int(rng.integers(0, 6))  # image 7 exceeds maxDets
        corner = rng.uniform(0, 500, (extra, 2))
        noise = np.concatenate([corner, corner + rng.uniform(10, 120, (extra, 2))], axis=1)
        noise_classes = np.zeros(extra, int) if i == 7 else rng.choice([0, 1, 3], extra)
        boxes = np.concatenate([hits, noise])
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        classes = np.concatenate([hit_classes, noise_classes])
        classes[classes == 2] = 0  # "never_predicted" is never predicted
        scores = np.r_[rng.uniform(0.2, 1, seen.sum()), rng.uniform(0, 0.8, extra)]
        scores = scores.astype(np.float32)
        order = np.argsort(-scores, kind="stable")  # as NMS returns them
        predictions.append(Detections.from_arrays(boxes[order], scores[order], classes[order]))
    return predictions, truths


def coco_stats(library: str, predictions, truths, names=NAMES) -> tuple[float, float, np.ndarray]:
    """(mAP50-95, mAP50, precision array) from pycocotools or faster-coco-eval."""
    if library == "pycocotools":
        coco = pytest.importorskip("pycocotools.coco")
        cocoeval = pytest.importorskip("pycocotools.cocoeval")
        make_eval = cocoeval.COCOeval
    else:
        faster = pytest.importorskip("faster_coco_eval")
        coco, make_eval = faster, faster.COCOeval_faster
    annotations = []
    for image, t in enumerate(truths):
        for (x1, y1, x2, y2), c in zip(t.xyxy.tolist(), t.class_ids.tolist(), strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image,
                    "category_id": c,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    dataset = {
        "images": [{"id": i, "width": 640, "height": 640} for i in range(len(truths))],
        "categories": [{"id": c, "name": n} for c, n in enumerate(names)],
        "annotations": annotations,
    }
    results = [
        {"image_id": image, "category_id": c, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": s}
        for image, p in enumerate(predictions)
        for (x1, y1, x2, y2), s, c in zip(
            p.xyxy.astype(np.float64).tolist(), p.scores.tolist(), p.class_ids.tolist(), strict=True
        )
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        ground = coco.COCO()
        ground.dataset = dataset
        ground.createIndex()
        evaluator = make_eval(ground, ground.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats[0], evaluator.stats[1], evaluator.eval["precision"]


@pytest.mark.parametrize("library", ["pycocotools", "faster_coco_eval"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coco_mode_equals_cocoeval(library, seed):
    predictions, truths = synthetic(seed)
    map50_95, map50, precision = coco_stats(library, predictions, truths)
    ours = evaluate_detections(predictions, truths, NAMES, mode="coco")
    assert 0.1 < map50_95 < 0.7  # a case where matching decisions matter
    assert ours.overall()["map50_95"] == pytest.approx(map50_95, abs=TOLERANCE)
    assert ours.overall()["map50"] == pytest.approx(map50, abs=TOLERANCE)
    reference = precision[:, :, :, 0, 2]  # (T, R, K), area "all", maxDets 100
    for k in range(3):  # the classes with ground truth
        assert ours.ap[k] == pytest.approx(reference[:, :, k].mean(1), abs=TOLERANCE)
    assert ours.class_rows()[3]["ap50"] is None and (reference[:, :, 3] == -1).all()


def ultralytics_reference(predictions, truths, names=NAMES):
    """Ultralytics' own validator matching, ``ap_per_class`` and confusion matrix."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("ultralytics")
    from odet_ros.ultralytics_env import import_ultralytics

    import_ultralytics()
    from ultralytics.models.yolo.detect.val import DetectionValidator
    from ultralytics.utils.metrics import ConfusionMatrix, ap_per_class, box_iou

    # match_predictions reads only the IoU thresholds from the validator
    validator = SimpleNamespace(iouv=torch.linspace(0.5, 0.95, 10))
    confusion = ConfusionMatrix(names=dict(enumerate(names)))
    stats = {"tp": [], "conf": [], "pred_cls": [], "target_cls": []}
    for p, t in zip(predictions, truths, strict=True):
        boxes, classes = torch.from_numpy(t.xyxy).float(), torch.from_numpy(t.class_ids)
        detected = {
            "bboxes": torch.from_numpy(p.xyxy),
            "conf": torch.from_numpy(p.scores),
            "cls": torch.from_numpy(p.class_ids),
        }
        if len(t.class_ids) and len(p):
            iou = box_iou(boxes, detected["bboxes"])
            correct = DetectionValidator.match_predictions(
                validator, detected["cls"], classes, iou
            ).numpy()
        else:
            correct = np.zeros((len(p), 10), bool)
        confusion.process_batch(detected, {"cls": classes, "bboxes": boxes}, conf=0.25)
        stats["tp"].append(correct)
        stats["conf"].append(p.scores)
        stats["pred_cls"].append(p.class_ids)
        stats["target_cls"].append(t.class_ids)
    merged = {k: np.concatenate(v) for k, v in stats.items()}
    return ap_per_class(**merged), confusion.matrix


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ultralytics_mode_equals_ultralytics(seed):
    predictions, truths = synthetic(seed)
    reference, matrix = ultralytics_reference(predictions, truths)
    _, _, p, r, f1, ap, classes = reference[:7]
    ours = evaluate_detections(predictions, truths, NAMES, mode="ultralytics", conf=0.25)
    assert list(classes) == [0, 1, 2]
    overall = ours.overall()
    assert overall["map50_95"] == pytest.approx(ap.mean(), abs=TOLERANCE)
    assert overall["map50"] == pytest.approx(ap[:, 0].mean(), abs=TOLERANCE)
    assert overall["precision"] == pytest.approx(p.mean(), abs=TOLERANCE)
    assert overall["recall"] == pytest.approx(r.mean(), abs=TOLERANCE)
    assert ours.ap[:3] == pytest.approx(ap, abs=TOLERANCE)
    assert ours.best.f1[:3] == pytest.approx(f1, abs=TOLERANCE)
    assert np.array_equal(ours.confusion.matrix, matrix.astype(np.int64))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_matching_with_tied_scores_and_overlaps_equals_the_references(data):
    """Integer boxes and few score values: ties everywhere, where orderings could diverge."""
    pytest.importorskip("pycocotools")
    pytest.importorskip("ultralytics")
    images = data.draw(st.integers(1, 4))
    coordinate = st.integers(0, 6).map(lambda v: v * 10)
    predictions, truths = [], []
    for _ in range(images):
        gt = data.draw(st.lists(st.tuples(coordinate, coordinate, st.integers(0, 1)), max_size=5))
        found = data.draw(
            st.lists(
                st.tuples(coordinate, coordinate, st.integers(0, 1), st.sampled_from([0.3, 0.6])),
                max_size=6,
            )
        )
        truths.append(
            GroundTruth(
                np.array([[x, y, x + 30, y + 30] for x, y, _ in gt], np.float64).reshape(-1, 4),
                np.array([c for *_, c in gt], np.int64),
            )
        )
        found.sort(key=lambda row: -row[3])
        predictions.append(
            Detections.from_arrays(
                np.array([[x, y, x + 30, y + 30] for x, y, _, _ in found]).reshape(-1, 4),
                [s for *_, s in found],
                [c for _, _, c, _ in found],
            )
        )
    if not any(len(t.class_ids) for t in truths) or not any(len(p) for p in predictions):
        return
    names = NAMES[:2]
    coco_ours = evaluate_detections(predictions, truths, names, mode="coco")
    map50_95, map50, _ = coco_stats("pycocotools", predictions, truths, names)
    assert coco_ours.overall()["map50_95"] == pytest.approx(map50_95, abs=1e-9)
    assert coco_ours.overall()["map50"] == pytest.approx(map50, abs=1e-9)
    reference, matrix = ultralytics_reference(predictions, truths, names)
    yolo_ours = evaluate_detections(predictions, truths, names, mode="ultralytics")
    assert yolo_ours.overall()["map50_95"] == pytest.approx(reference[5].mean(), abs=1e-9)
    assert np.array_equal(yolo_ours.confusion.matrix, matrix.astype(np.int64))
