"""vision_msgs built from Detections: field layout, conventions, CDR round trip, inverse."""

import numpy as np
import pytest

from odet_ros.bags import make_typestore
from odet_ros.detection.types import Detections
from odet_ros.interfaces import make_header, stamp_to_ns
from odet_ros.messages import (
    VisionMsgClasses,
    detections_from_msg,
    detections_to_msg,
    label_info_msg,
)

NAMES = ["plastic_bottle", "paper_cup", "drink_can"]
STAMP = 1_700_000_123_456_789_012


@pytest.fixture(scope="module")
def typestore():
    return make_typestore("humble")


@pytest.fixture(scope="module")
def classes(typestore):
    return VisionMsgClasses.from_typestore(typestore)


def _detections(tracks=False):
    return Detections.from_arrays(
        [[10.5, 20.0, 50.5, 80.0], [100.0, 40.0, 140.0, 60.0], [0.0, 0.0, 639.0, 479.0]],
        [0.9, 0.55, 0.31],
        [2, 0, 1],
        [7, 8, 9] if tracks else None,
    )


def test_layout_follows_vision_msgs_4(typestore, classes):
    header = make_header(typestore, STAMP, "camera_optical_frame")
    msg = detections_to_msg(_detections(), NAMES, header, classes)
    assert msg.__msgtype__ == "vision_msgs/msg/Detection2DArray"
    assert msg.header is header
    assert stamp_to_ns(msg.header.stamp) == STAMP
    assert len(msg.detections) == 3
    first = msg.detections[0]
    assert first.header.frame_id == "camera_optical_frame"
    assert first.results[0].hypothesis.class_id == "2"
    assert first.results[0].hypothesis.score == pytest.approx(0.9)
    assert first.bbox.center.position.x == pytest.approx(30.5)
    assert first.bbox.center.position.y == pytest.approx(50.0)
    assert (first.bbox.size_x, first.bbox.size_y) == pytest.approx((40.0, 60.0))
    assert first.bbox.center.theta == 0.0
    assert first.id == ""
    assert first.results[0].pose.pose.orientation.w == 1.0


def test_class_names_inline_and_track_ids(typestore, classes):
    header = make_header(typestore, STAMP, "cam")
    msg = detections_to_msg(_detections(tracks=True), NAMES, header, classes, "name")
    assert [d.results[0].hypothesis.class_id for d in msg.detections] == [
        "drink_can",
        "plastic_bottle",
        "paper_cup",
    ]
    assert [d.id for d in msg.detections] == ["7", "8", "9"]
    with pytest.raises(ValueError, match="class_id_format"):
        detections_to_msg(_detections(), NAMES, header, classes, "number")


def test_cdr_round_trip_and_inverse(typestore, classes):
    header = make_header(typestore, STAMP, "cam")
    for fmt in ("index", "name"):
        original = _detections(tracks=True)
        msg = detections_to_msg(original, NAMES, header, classes, fmt)
        raw = typestore.serialize_cdr(msg, msg.__msgtype__)
        back = detections_from_msg(typestore.deserialize_cdr(raw, msg.__msgtype__), NAMES)
        np.testing.assert_allclose(back.xyxy, original.xyxy, atol=1e-4)
        np.testing.assert_allclose(back.scores, original.scores, atol=1e-6)
        np.testing.assert_array_equal(back.class_ids, original.class_ids)
        np.testing.assert_array_equal(back.track_ids, original.track_ids)


def test_the_runner_up_class_is_a_second_hypothesis_and_comes_back(typestore, classes):
    original = Detections.from_arrays(
        [[10, 20, 50, 80], [100, 40, 140, 60]], [0.9, 0.55], [2, 0], runner_up=([1, 2], [0.2, 0.5])
    )
    for fmt in ("index", "name"):
        msg = detections_to_msg(original, NAMES, make_header(typestore, 0, "cam"), classes, fmt)
        second = msg.detections[1].results[1].hypothesis
        assert second.class_id == ("2" if fmt == "index" else NAMES[2])
        assert second.score == pytest.approx(0.5)
        raw = typestore.serialize_cdr(msg, msg.__msgtype__)
        back = detections_from_msg(typestore.deserialize_cdr(raw, msg.__msgtype__), NAMES)
        np.testing.assert_array_equal(back.class_ids, [2, 0])  # the best is still first
        np.testing.assert_array_equal(back.runner_up[0], [1, 2])
        np.testing.assert_allclose(back.runner_up[1], [0.2, 0.5], atol=1e-6)
    plain = detections_to_msg(_detections(), NAMES, make_header(typestore, 0, "cam"), classes)
    assert all(len(d.results) == 1 for d in plain.detections)
    assert detections_from_msg(plain).runner_up is None


def test_empty_detections_give_an_empty_array(typestore, classes):
    msg = detections_to_msg(Detections.empty(), NAMES, make_header(typestore, 0, ""), classes)
    assert msg.detections == []
    assert len(detections_from_msg(msg)) == 0


def test_label_info_maps_indices_to_names(typestore, classes):
    msg = label_info_msg(NAMES, make_header(typestore, STAMP, ""), classes, threshold=0.25)
    assert [(c.class_id, c.class_name) for c in msg.class_map] == list(enumerate(NAMES))
    assert msg.threshold == pytest.approx(0.25)
    raw = typestore.serialize_cdr(msg, msg.__msgtype__)
    assert typestore.deserialize_cdr(raw, msg.__msgtype__).class_map[2].class_name == "drink_can"


def test_label_info_missing_on_vision_msgs_4_0(classes):
    from dataclasses import replace

    old = replace(classes, LabelInfo=None, VisionClass=None)
    with pytest.raises(RuntimeError, match=r"4\.1"):
        label_info_msg(NAMES, None, old)
