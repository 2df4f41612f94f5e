"""Track ids from ByteTrack stay with a moving object and differ between objects."""

import numpy as np
import pytest

from odet_ros.detection.types import Detections
from odet_ros.errors import OdetError
from odet_ros.tracking import make_tracker

pytest.importorskip("supervision")


def _two_objects(step: int) -> Detections:
    return Detections.from_arrays(
        [[10 + 3 * step, 10, 50 + 3 * step, 60], [200 - 2 * step, 100, 240 - 2 * step, 150]],
        [0.9, 0.8],
        [0, 2],
    )


def test_ids_follow_objects_across_frames():
    tracker = make_tracker("bytetrack", frame_rate=15)
    ids_by_class = {}
    for step in range(10):
        out = tracker.update(_two_objects(step))
        assert len(out) == 2
        for class_id, track_id in zip(out.class_ids.tolist(), out.track_ids.tolist(), strict=True):
            ids_by_class.setdefault(class_id, set()).add(track_id)
    assert all(len(ids) == 1 for ids in ids_by_class.values())
    assert ids_by_class[0] != ids_by_class[2]


def test_tracked_boxes_keep_their_runner_up_class():
    tracker = make_tracker("bytetrack", frame_rate=15)
    for step in range(3):
        found = _two_objects(step)
        out = tracker.update(
            Detections.from_arrays(
                found.xyxy, found.scores, found.class_ids, runner_up=([1, 0], [0.3, 0.7])
            )
        )
    ids, scores = out.runner_up
    rows = zip(out.class_ids.tolist(), ids.tolist(), scores.tolist(), strict=True)
    by_class = {class_id: (runner_up, score) for class_id, runner_up, score in rows}
    assert by_class == {0: (1, pytest.approx(0.3)), 2: (0, pytest.approx(0.7))}


def test_none_and_unknown_tracker():
    assert make_tracker("none") is None
    with pytest.raises(OdetError, match="tracker must be one of"):
        make_tracker("sort")


def test_objects_appearing_later_get_ids_once_confirmed():
    """ByteTrack confirms a track seen after the first frame on its second sighting."""
    tracker = make_tracker("bytetrack")
    assert len(tracker.update(Detections.empty())) == 0
    tracker.update(_two_objects(0))
    confirmed = tracker.update(_two_objects(1))
    again = tracker.update(_two_objects(2))
    assert len(confirmed) == 2
    assert np.all(confirmed.track_ids > 0)
    assert sorted(confirmed.track_ids.tolist()) == sorted(again.track_ids.tolist())
