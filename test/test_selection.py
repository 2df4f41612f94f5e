"""The selection a deployed model drives: each reason fires on its case and not on its negative,
the budget holds, and the record a kept frame carries survives the bag."""

from __future__ import annotations

import numpy as np
import pytest
from support.sampling import noisy_copy, scene

from odet_ros.detection.types import Detections
from odet_ros.errors import OdetError
from odet_ros.sampling import SamplerSettings
from odet_ros.selection import (
    DEFAULT_SELECTION,
    Budget,
    FrameSelector,
    SelectionRecord,
    SelectionSettings,
    parse_reasons,
)
from odet_ros.selection.stability import StabilityWatch

SECOND = 1_000_000_000
CUP = [10.0, 10.0, 60.0, 80.0]
BOTTLE = [200.0, 40.0, 240.0, 150.0]


def boxes(*items, tracks=None):
    """Detections from (xyxy, score, class) triples."""
    if not items:
        return Detections.empty()
    xyxy, scores, classes = zip(*items, strict=True)
    return Detections.from_arrays(np.array(xyxy), np.array(scores), np.array(classes), tracks)


FIXED = (0.25, 0.6)


def selector(*reasons, **settings):
    """A selector with the fixed band (0.25-0.6) unless given another."""
    quality = SamplerSettings(duplicate_threshold=0.0)
    settings = {"unsure_band": FIXED, "per_minute": 0, "quality": quality, **settings}
    return FrameSelector(SelectionSettings(reasons=reasons, **settings))


def test_unsure_fires_inside_the_band_only():
    chooser = selector("unsure")
    image = scene(1)
    assert chooser.offer(0, boxes((CUP, 0.4, 0)), image).reasons == ("unsure",)
    assert chooser.offer(SECOND, boxes((CUP, 0.9, 0), (BOTTLE, 0.7, 1)), image).reasons == ()
    assert chooser.offer(2 * SECOND, boxes(), image).reasons == ()
    assert chooser.offer(3 * SECOND, boxes((CUP, 0.6, 0)), image).reasons == ()  # [low, high)


def test_one_unsure_box_among_sure_ones_counts_only_below_the_share():
    mixed = boxes((CUP, 0.9, 0), (BOTTLE, 0.4, 1), (BOTTLE, 0.8, 1), (CUP, 0.95, 0))
    assert selector("unsure").offer(0, mixed, scene(1)).reasons == ()  # default: every box
    assert selector("unsure", unsure_share=0.5).offer(0, mixed, scene(1)).reasons == ()
    assert selector("unsure", unsure_share=0.25).offer(0, mixed, scene(1)).reasons == ("unsure",)


def test_a_box_torn_between_two_classes_is_unsure_where_the_model_says_so():
    def torn(runner_up_score, score=0.9):
        return Detections.from_arrays([CUP], [score], [0], runner_up=([1], [runner_up_score]))

    chooser = selector("unsure")
    assert chooser.offer(0, torn(0.85), scene(1)).reasons == ("unsure",)  # 0.05 ahead
    assert chooser.offer(SECOND, torn(0.3), scene(1)).reasons == ()  # clearly the best
    assert chooser.offer(2 * SECOND, torn(0.15, score=0.2), scene(1)).reasons == ()  # below band
    assert selector("unsure", unsure_margin=0).offer(0, torn(0.85), scene(1)).reasons == ()


def test_a_class_flip_or_a_flicker_is_unstable_a_steady_object_is_not():
    for tracks in (lambda i: np.array([i]), lambda i: None):  # ByteTrack ids, or overlap alone
        watch = StabilityWatch(memory=3)
        steady = [watch.update(boxes((CUP, 0.9, 0), tracks=tracks(7))) for _ in range(4)]
        assert not any(change.unstable(count_jump=2) for change in steady)
        flipped = watch.update(boxes((CUP, 0.8, 1), tracks=tracks(7)))
        assert flipped.class_flips == 1 and flipped.unstable(count_jump=2)
        watch.update(boxes())  # gone for two frames ...
        watch.update(boxes())
        back = watch.update(boxes((CUP, 0.8, 1), tracks=tracks(7)))
        assert back.reappeared == 1 and back.unstable(count_jump=2)
        for _ in range(5):  # ... gone for longer than memory: a new arrival, not a flicker
            watch.update(boxes())
        assert not watch.update(boxes((CUP, 0.8, 1), tracks=tracks(7))).unstable(count_jump=2)


def test_a_jump_in_the_number_of_boxes_is_unstable():
    watch = StabilityWatch()
    watch.update(boxes((CUP, 0.9, 0)))
    one_more = watch.update(boxes((CUP, 0.9, 0), (BOTTLE, 0.9, 1)))
    assert not one_more.unstable(count_jump=2)
    crowd = [([x, 100.0, x + 20.0, 140.0], 0.9, 0) for x in range(0, 200, 40)]
    jump = watch.update(boxes(*crowd))
    assert jump.count_change == 3 and jump.unstable(count_jump=2)
    assert not jump.unstable(count_jump=0)  # switched off


def test_novel_views_are_kept_a_view_already_kept_is_not():
    chooser = selector("novel")
    first, other = scene(1), scene(2)
    assert chooser.offer(0, boxes(), first).keep
    assert chooser.offer(SECOND, boxes(), noisy_copy(first, 3)).reasons == ()
    assert chooser.offer(2 * SECOND, boxes(), other).reasons == ("novel",)
    assert chooser.counts.by_reason["novel"] == 2


def test_the_rate_budget_holds_however_many_frames_qualify():
    chooser = FrameSelector(
        SelectionSettings(("unsure",), FIXED, per_minute=6, quality=SamplerSettings())
    )
    kept = [
        chooser.offer(i * SECOND // 2, boxes((CUP, 0.4, 0)), scene(i)).keep
        for i in range(5 * 60 * 2)  # five minutes at 2 fps, every frame unsure and distinct
    ]
    # the rate, plus at most one minute's burst and the frames taken ahead of the rate
    assert 6 * 5 <= sum(kept) <= 6 * 5 + 6 + DEFAULT_SELECTION.new_burst
    assert chooser.counts.refused["budget"] == len(kept) - sum(kept)


def test_a_robot_staring_at_one_hard_scene_keeps_it_once():
    chooser = FrameSelector(SelectionSettings(reasons=("unsure",), per_minute=600))
    stuck = scene(4)
    kept = [
        chooser.offer(i * SECOND, boxes((CUP, 0.4, 0)), noisy_copy(stuck, i)).keep
        for i in range(100)
    ]
    assert sum(kept) == 1
    assert chooser.counts.refused == {"duplicate": 99}


def test_a_robot_moving_about_one_hard_room_keeps_per_view_frames_of_it():
    room = scene(5, size=(240, 960))
    chooser = selector("unsure", per_view=3)
    views = [room[:, shift : shift + 320] for shift in range(0, 120, 10)]  # panning: no duplicates
    kept = [chooser.offer(i * SECOND, boxes((CUP, 0.4, 0)), v).keep for i, v in enumerate(views)]
    assert sum(kept) == 3
    assert chooser.counts.refused == {"same_view": len(views) - 3}
    elsewhere = scene(6)[:, :, ::-1].copy()  # another room, other colours
    assert chooser.offer(len(views) * SECOND, boxes((CUP, 0.4, 0)), elsewhere).keep
    unlimited = selector("unsure", per_view=0)
    assert all(
        unlimited.offer(i * SECOND, boxes((CUP, 0.4, 0)), v).keep for i, v in enumerate(views)
    )


def test_the_total_budget_holds():
    chooser = selector("unsure", total=3)
    kept = [chooser.offer(i * SECOND, boxes((CUP, 0.4, 0)), scene(i)).keep for i in range(10)]
    assert kept == [True] * 3 + [False] * 7
    assert chooser.exhausted


def test_images_are_decoded_only_for_frames_that_might_be_kept():
    decoded = []

    def image():
        decoded.append(1)
        return scene(5)

    chooser = selector("unsure")
    chooser.offer(0, boxes((CUP, 0.95, 0)), image)
    assert decoded == []  # sure of everything: the frame is never decoded
    chooser.offer(SECOND, boxes((CUP, 0.3, 0)), image)
    assert decoded == [1]


def test_budget_refills_with_footage_time_not_wall_time():
    budget = Budget(per_minute=2)
    assert budget.allows(0)
    budget.spend()
    budget.spend()
    assert not budget.allows(SECOND)
    assert budget.allows(31 * SECOND)


def test_a_burst_takes_at_most_a_tenth_of_the_total():
    budget = Budget(per_minute=20, total=40)  # 40 frames spread over two minutes of footage
    burst = 0
    while budget.allows(0):
        budget.spend()
        burst += 1
    assert burst == 4  # not the 20 of a minute's worth: the rest is left for later footage
    assert budget.allows(3 * SECOND)  # 20 a minute: one more every 3 s


@pytest.mark.parametrize(
    "settings",
    [
        {"reasons": ("curious",)},
        {"reasons": ()},
        {"unsure_band": (0.6, 0.2)},
        {"unsure_share": 0.0},
        {"unsure_margin": 1.5},
        {"per_view": -1},
        {"novelty": 0.0},
        {"count_jump": -1},
    ],
)
def test_bad_settings_are_refused_naming_the_setting(settings):
    with pytest.raises(OdetError, match=r"reasons|band|share|margin|per_view|novelty|count_jump"):
        SelectionSettings(**settings)


def test_reasons_parse_from_a_launch_argument():
    assert parse_reasons("all") == ("unsure", "unstable", "novel", "blind")
    assert parse_reasons(" unsure, novel ") == ("unsure", "novel")
    assert parse_reasons("uncertain,unsure") == ("unsure",)


def test_a_record_survives_json_and_a_bad_one_is_named():
    record = SelectionRecord(
        "/camera/image_raw", 5 * SECOND, ("unsure", "novel"), "cups_v1", ["cup", "bottle"],
        320, 240, boxes((CUP, 0.4, 0), (BOTTLE, 0.55, 1)),
    )  # fmt: skip
    again = SelectionRecord.from_json(record.to_json(), "bag at 5 s")
    assert again.reasons == record.reasons and again.names == record.names
    np.testing.assert_allclose(again.detections.xyxy, record.detections.xyxy)
    np.testing.assert_allclose(again.detections.scores, record.detections.scores, atol=1e-4)
    with pytest.raises(OdetError, match="bag at 5 s: not an odet selection record"):
        SelectionRecord.from_json('{"topic": "/x"}', "bag at 5 s")
    bad_class = record.to_json().replace('"class_ids": [0, 1]', '"class_ids": [0, 7]')
    with pytest.raises(OdetError, match="class ids outside"):
        SelectionRecord.from_json(bad_class, "bag at 5 s")
