"""Detection metrics on hand-made cases whose answers follow from the definitions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from odet_ros.detection.types import Detections
from odet_ros.evaluation import GroundTruth, evaluate_detections
from odet_ros.evaluation.matching import MatchRule, coco_iou, greedy_match

NAMES = ["person", "car", "dog"]
MODES = ["coco", "ultralytics"]
# Ultralytics integrates the envelope with the trapezoid rule down to precision 0 at recall 1,
# so a perfect class scores 0.995 there (the ceiling `yolo val` shows), 1.0 in COCO mode.
PERFECT = {"coco": 1.0, "ultralytics": 0.995}


def truth(boxes, classes) -> GroundTruth:
    return GroundTruth(np.array(boxes, np.float64).reshape(-1, 4), np.array(classes, np.int64))


def found(boxes, scores, classes) -> Detections:
    return Detections.from_arrays(np.reshape(boxes, (-1, 4)), scores, classes)


def random_truths(seed: int = 0, images: int = 12) -> list[GroundTruth]:
    rng = np.random.default_rng(seed)
    truths = []
    for i in range(images):
        n = int(rng.integers(0, 6)) if i % 4 else 0  # every 4th image has no objects
        corner = rng.uniform(0, 400, (n, 2))
        boxes = np.concatenate([corner, corner + rng.uniform(20, 150, (n, 2))], axis=1)
        truths.append(truth(boxes, rng.integers(0, len(NAMES), n)))
    return truths


@pytest.mark.parametrize("mode", MODES)
def test_perfect_predictions_score_the_maximum(mode):
    truths = random_truths()
    rng = np.random.default_rng(1)
    predictions = [
        found(t.xyxy, rng.uniform(0.3, 1, len(t.class_ids)), t.class_ids) for t in truths
    ]
    result = evaluate_detections(predictions, truths, NAMES, mode=mode)
    overall = result.overall()
    assert overall["map50"] == pytest.approx(PERFECT[mode])
    assert overall["map50_95"] == pytest.approx(PERFECT[mode])
    assert overall["precision_at_conf"] == overall["recall_at_conf"] == 1.0
    matrix = result.confusion.matrix
    assert np.array_equal(np.diag(matrix)[:-1], result.instances)
    assert matrix.sum() == result.instances.sum()


@pytest.mark.parametrize("mode", MODES)
def test_no_predictions_score_zero(mode):
    truths = random_truths()
    result = evaluate_detections([Detections.empty()] * len(truths), truths, NAMES, mode=mode)
    overall = result.overall()
    assert overall["map50"] == overall["map50_95"] == 0.0
    assert overall["precision_at_conf"] == overall["recall_at_conf"] == 0.0
    assert np.array_equal(result.confusion.matrix[-1, :-1], result.instances)  # all missed


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("shift", "thresholds_passed"),
    [(40, 0), (24, 3)],  # IoU (100 - s) / (100 + s): 0.43 passes none; 0.613 passes .50-.60
)
def test_a_shifted_box_counts_only_at_thresholds_its_iou_reaches(mode, shift, thresholds_passed):
    truths = [truth([[100, 100, 200, 200]], [0])]
    predictions = [found([[100 + shift, 100, 200 + shift, 200]], [0.9], [0])]
    result = evaluate_detections(predictions, truths, NAMES, mode=mode)
    passed = np.zeros(10)
    passed[:thresholds_passed] = PERFECT[mode]
    assert result.ap[0] == pytest.approx(passed)
    assert result.overall()["map50"] == pytest.approx(passed[0])


def test_precision_and_recall_at_the_robots_threshold_are_exact_counts():
    truths = [
        truth([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 0]),
        truth([[0, 0, 10, 10], [50, 50, 60, 60]], [0, 0]),
    ]
    predictions = [
        found([[0, 0, 10, 10], [70, 70, 80, 80]], [0.9, 0.6], [0, 0]),  # hit, false positive
        found([[50, 50, 60, 60], [0, 0, 10, 10]], [0.7, 0.3], [0, 0]),  # hit, hit under 0.5
    ]
    result = evaluate_detections(predictions, truths, NAMES, conf=0.5)
    row = result.class_rows()[0]
    assert row["predictions_at_conf"] == 3
    assert row["precision_at_conf"] == pytest.approx(2 / 3)
    assert row["recall_at_conf"] == pytest.approx(2 / 4)
    assert row["f1_at_conf"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    lower = evaluate_detections(predictions, truths, NAMES, conf=0.25).class_rows()[0]
    assert lower["recall_at_conf"] == pytest.approx(3 / 4)


def test_confusion_matrix_counts_a_hand_made_case():
    person, car, dog, background = 0, 1, 2, 3
    truths = [
        truth([[0, 0, 100, 100], [200, 0, 300, 100]], [person, car]),
        truth([[0, 0, 50, 50]], [dog]),
    ]
    predictions = [
        found(
            [[2, 0, 100, 100], [200, 0, 302, 100], [400, 400, 450, 450], [0, 0, 100, 100]],
            [0.9, 0.8, 0.7, 0.1],  # the last scores under conf: not counted
            [person, person, car, dog],
        ),
        Detections.empty(),
    ]
    result = evaluate_detections(predictions, truths, NAMES, conf=0.25)
    expected = np.zeros((4, 4), np.int64)
    expected[person, person] = 1  # right class
    expected[person, car] = 1  # a car called a person
    expected[car, background] = 1  # a car where there is nothing
    expected[background, dog] = 1  # the dog nobody found
    assert np.array_equal(result.confusion.matrix, expected)


def test_coco_mode_scores_only_the_100_best_predictions_per_image_and_class():
    truths = [truth([[0, 0, 10, 10]], [0])]
    decoys = np.tile([[100, 100, 110, 110]], (100, 1))
    boxes = np.concatenate([decoys, [[0, 0, 10, 10]]])
    scores = np.r_[np.linspace(0.9, 0.5, 100), 0.4]  # the right box is the 101st
    predictions = [found(boxes, scores, np.zeros(101))]
    coco = evaluate_detections(predictions, truths, NAMES, mode="coco")
    yolo = evaluate_detections(predictions, truths, NAMES, mode="ultralytics")
    assert coco.overall()["map50"] == 0.0
    assert yolo.overall()["map50"] > 0.0


@pytest.mark.parametrize("mode", MODES)
def test_results_do_not_depend_on_the_order_boxes_come_in(mode):
    truths = random_truths(seed=3)
    rng = np.random.default_rng(4)
    predictions = []
    for t in truths:
        boxes = t.xyxy + rng.normal(0, 6, t.xyxy.shape)
        predictions.append(found(boxes, rng.uniform(0, 1, len(boxes)), t.class_ids))
    shuffled = [p.select(rng.permutation(len(p))) for p in predictions]
    first = evaluate_detections(predictions, truths, NAMES, mode=mode)
    second = evaluate_detections(shuffled, truths, NAMES, mode=mode)
    assert first.overall() == second.overall()


def test_classes_without_ground_truth_are_left_out_of_the_means():
    truths = [truth([[0, 0, 10, 10]], [0]), truth([], [])]
    predictions = [found([[0, 0, 10, 10]], [0.9], [0]), found([[5, 5, 20, 20]], [0.8], [2])]
    result = evaluate_detections(predictions, truths, NAMES)
    rows = {row["name"]: row for row in result.class_rows()}
    assert rows["dog"]["ap50"] is None and rows["dog"]["recall_at_conf"] is None
    assert rows["dog"]["predictions_at_conf"] == 1
    assert rows["dog"]["precision_at_conf"] == 0.0
    assert result.overall()["map50"] == pytest.approx(1.0)  # only "person" has ground truth
    assert result.images == 2
    assert [row["images"] for row in result.class_rows()] == [1, 0, 0]


@pytest.mark.parametrize("mode", MODES)
def test_a_class_never_detected_above_a_confidence_has_precision_zero_there(mode):
    """One convention at the best-F1 confidence and at the robot's threshold alike (Ultralytics'
    curves would read P = 1 at R = 0 for "car" at the best-F1 confidence)."""
    truths = [truth([[0, 0, 50, 50], [100, 100, 150, 150]], [0, 1]) for _ in range(4)]
    person = [[0, 0, 50, 50], [200, 0, 250, 50], [0, 200, 50, 250], [200, 200, 250, 250]]
    predictions = [found(person, [0.9, 0.2, 0.2, 0.2], [0, 0, 0, 0]) for _ in truths]
    predictions[0] = found(
        [*person, [100, 100, 150, 150]], [0.9, 0.2, 0.2, 0.2, 0.1], [0] * 4 + [1]
    )
    result = evaluate_detections(predictions, truths, NAMES, mode=mode, conf=0.25)
    rows = {row["name"]: row for row in result.class_rows()}
    # the mean F1 peaks between person's false positives (0.2) and its hits (0.9), above car's
    # one hit (0.1)
    assert 0.2 < result.best.conf < 0.9
    assert rows["car"]["recall"] == rows["car"]["precision"] == 0.0
    assert rows["car"]["recall_at_conf"] == rows["car"]["precision_at_conf"] == 0.0
    assert rows["car"]["predictions_at_conf"] == 0
    assert rows["person"]["precision_at_conf"] == 1.0 and rows["person"]["precision"] > 0.9


def test_equal_overlaps_go_to_the_first_box_or_the_last_as_the_rule_says():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float64)
    pred = np.array([[0, 0, 10, 10]], np.float64)
    zero = np.zeros(1, np.int64)
    groups = np.zeros(2, np.int64)
    first = MatchRule(np.array([0.5]), coco_iou)
    last = MatchRule(np.array([0.5]), coco_iou, prefer_last=True)
    assert greedy_match(pred, zero, gt, groups, first)[0, 0] == 0
    assert greedy_match(pred, zero, gt, groups, last)[0, 0] == 1


def test_json_document_is_strict_json_with_the_documented_keys():
    truths = random_truths()
    predictions = [found(t.xyxy, np.full(len(t.class_ids), 0.5), t.class_ids) for t in truths]
    document = evaluate_detections(predictions, truths, NAMES, mode="ultralytics").to_dict()
    text = json.dumps(document, allow_nan=False)
    assert json.loads(text)["schema"] == "odet.evaluation/1"
    assert set(document) >= {"mode", "conf", "names", "overall", "classes", "confusion_matrix"}
    assert len(document["curves"]["confidence"]["f1"]) == len(NAMES)
    assert document["confusion_matrix"]["labels"] == [*NAMES, "background"]


def test_bad_input_is_refused_with_the_reason():
    truths = [truth([[0, 0, 10, 10]], [0])]
    with pytest.raises(ValueError, match="1 images of predictions but 2"):
        evaluate_detections([Detections.empty()], truths * 2, NAMES)
    with pytest.raises(ValueError, match=r"class id 7 outside 0\.\.2"):
        evaluate_detections([found([[0, 0, 1, 1]], [0.5], [7])], truths, NAMES)
    with pytest.raises(ValueError, match="mode must be one of"):
        evaluate_detections([Detections.empty()], truths, NAMES, mode="voc")
