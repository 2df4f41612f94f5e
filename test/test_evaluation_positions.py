"""3D detections scored against ground-truth positions (odet_ros.evaluation.positions)."""

from __future__ import annotations

import pytest

from odet_ros.evaluation.positions import evaluate_positions

TRUTH = [
    {"stamp_ns": 1, "objects": [
        {"class_id": 0, "box": [0, 0, 10, 10], "position_m": [0.0, 0.0, 1.0]},
        {"class_id": 1, "box": [20, 0, 30, 10], "position_m": [0.5, 0.0, 2.0]},
    ]},
    {"stamp_ns": 2, "objects": []},
]  # fmt: skip


def detection(box, class_id, position=None, score=0.9):
    record = {"xyxy": box, "score": score, "class_id": class_id, "class_name": str(class_id)}
    if position is not None:
        record["position_m"] = position
    return record


def test_matches_by_box_and_class_and_counts_the_rest():
    records = [
        {"frame": 1, "detections": [
            detection([0, 0, 10, 10], 0, [0.0, 0.0, 1.02]),  # 2 cm off, 2% of its range
            detection([20, 0, 30, 10], 0, [0.5, 0.0, 2.0]),  # the right box, the wrong class
            detection([21, 0, 30, 10], 1, [0.5, 0.0, 2.12]),  # 12 cm off, 6%
            detection([40, 40, 50, 50], 1),  # not located: not scored
        ]},
        {"frame": 2, "detections": [detection([0, 0, 5, 5], 0, [0.0, 0.0, 3.0])]},
        {"frame": 3, "detections": [detection([0, 0, 5, 5], 0, [0.0, 0.0, 3.0])]},
    ]  # fmt: skip
    report = evaluate_positions(records, TRUTH)
    assert sorted(round(m.error, 3) for m in report.matches) == [0.02, 0.12]
    assert report.unmatched == 3  # the wrong class, and one in each frame without objects
    figures = report.figures()
    assert figures["matched"] == 2 and figures["median_error_m"] == pytest.approx(0.07)
    assert figures["within_3_percent"] == 0.5
    assert figures["median_relative_error"] == pytest.approx((0.02 + 0.06) / 2)


def test_one_object_is_matched_once_best_score_first():
    records = [{"frame": 1, "detections": [
        detection([0, 0, 10, 10], 0, [0.0, 0.0, 1.5], score=0.3),
        detection([0, 0, 10, 10], 0, [0.0, 0.0, 1.1], score=0.8),
    ]}]  # fmt: skip
    report = evaluate_positions(records, TRUTH)
    assert [round(m.error, 3) for m in report.matches] == [0.1] and report.unmatched == 1


def test_no_match_gives_counts_only():
    assert evaluate_positions([], TRUTH).figures() == {"matched": 0.0, "unmatched": 0.0}


def test_the_plot_is_a_png():
    pytest.importorskip("matplotlib")
    from odet_ros.evaluation.plots import positions_png

    records = [{"frame": 1, "detections": [detection([0, 0, 10, 10], 0, [0.0, 0.0, 1.02])]}]
    png = positions_png(evaluate_positions(records, TRUTH), ["cup", "can"])
    assert png is not None and png.startswith(b"\x89PNG")
    assert positions_png(evaluate_positions([], TRUTH), ["cup", "can"]) is None
