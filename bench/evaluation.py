"""Benchmark: our COCO-mode evaluation against pycocotools' and faster-coco-eval's COCOeval.

The same 2,000 images of synthetic predictions (detector-like: jittered true boxes scored high,
plenty of low-scored clutter as at conf 0.001) are scored by all three. Ours is the whole
``evaluate_detections`` (mAP plus the curves, operating points and confusion matrix ``odet eval``
reports); theirs is ``loadRes`` + ``evaluate`` + ``accumulate`` + ``summarize``. Prints one
``figure: value`` line each; the mAPs must agree.

    .venv/bin/python bench/evaluation.py
"""

from __future__ import annotations

import contextlib
import io
import time

import numpy as np

from odet_ros.detection.types import Detections
from odet_ros.evaluation import GroundTruth, evaluate_detections

IMAGES = 2000
CLASSES = 20
OBJECTS = 8  # mean objects per image
CLUTTER = 40  # mean low-scored extra predictions per image
REPEATS = 3  # best of, except pycocotools (slow enough to time once)


def synthetic(seed: int = 0) -> tuple[list[Detections], list[GroundTruth]]:
    rng = np.random.default_rng(seed)
    predictions, truths = [], []
    for _ in range(IMAGES):
        n = int(rng.poisson(OBJECTS))
        corner = rng.uniform(0, 560, (n, 2))
        gt = np.concatenate([corner, corner + rng.uniform(8, 200, (n, 2))], axis=1)
        gt_classes = rng.integers(0, CLASSES, n)
        truths.append(GroundTruth(gt, gt_classes))
        seen = rng.random(n) < 0.9
        hits = gt[seen] + rng.normal(0, 4, (seen.sum(), 4))
        m = int(rng.poisson(CLUTTER))
        corner = rng.uniform(0, 560, (m, 2))
        clutter = np.concatenate([corner, corner + rng.uniform(8, 200, (m, 2))], axis=1)
        boxes = np.concatenate([hits, clutter])
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        classes = np.concatenate([gt_classes[seen], rng.integers(0, CLASSES, m)])
        scores = np.r_[rng.uniform(0.3, 1, seen.sum()), rng.uniform(0.001, 0.5, m)]
        order = np.argsort(-scores)
        predictions.append(Detections.from_arrays(boxes[order], scores[order], classes[order]))
    return predictions, truths


def coco_inputs(predictions, truths) -> tuple[dict, list[dict]]:
    """The same boxes as COCO annotations (ids from 1) and COCO results."""
    annotations = [
        {"image_id": i, "category_id": int(c), "bbox": [x1, y1, x2 - x1, y2 - y1]}
        for i, t in enumerate(truths)
        for (x1, y1, x2, y2), c in zip(t.xyxy.tolist(), t.class_ids, strict=True)
    ]
    for number, annotation in enumerate(annotations, start=1):
        _, _, w, h = annotation["bbox"]
        annotation.update(id=number, area=w * h, iscrowd=0)
    dataset = {
        "images": [{"id": i, "width": 768, "height": 768} for i in range(len(truths))],
        "categories": [{"id": c, "name": str(c)} for c in range(CLASSES)],
        "annotations": annotations,
    }
    results = [
        {"image_id": i, "category_id": int(c), "bbox": [x1, y1, x2 - x1, y2 - y1], "score": s}
        for i, p in enumerate(predictions)
        for (x1, y1, x2, y2), s, c in zip(
            p.xyxy.astype(np.float64).tolist(), p.scores.tolist(), p.class_ids, strict=True
        )
    ]
    return dataset, results


def run_cocoeval(library: str, dataset: dict, results: list[dict]) -> tuple[float, float]:
    """(seconds, mAP50-95) of one COCOeval run from in-memory annotations."""
    if library == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    else:
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        ground = COCO()
        ground.dataset = dataset
        ground.createIndex()
        start = time.perf_counter()
        evaluator = COCOeval(ground, ground.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        return time.perf_counter() - start, float(evaluator.stats[0])


def main() -> None:
    predictions, truths = synthetic()
    dataset, results = coco_inputs(predictions, truths)
    names = [str(c) for c in range(CLASSES)]
    ours_s = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        ours_map = evaluate_detections(predictions, truths, names).summary.map50_95
        ours_s = min(ours_s, time.perf_counter() - start)
    print(f"images: {IMAGES}")
    print(f"predictions: {len(results)}")
    print(f"ground_truth_boxes: {len(dataset['annotations'])}")
    print(f"odet_coco_eval_s: {ours_s:.3f}")
    print(f"odet_map50_95: {ours_map:.6f}")
    for library, repeats in (("pycocotools", 1), ("faster_coco_eval", REPEATS)):
        runs = [run_cocoeval(library, dataset, results) for _ in range(repeats)]
        seconds, reference_map = min(runs)
        print(f"{library}_s: {seconds:.3f}")
        print(f"{library}_map_difference: {abs(ours_map - reference_map):.2e}")
        print(f"coco_eval_speedup_vs_{library}: {seconds / ours_s:.2f}x")


if __name__ == "__main__":
    main()
