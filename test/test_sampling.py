"""The frame sampler and its quality figures, on synthetic frames with known defects."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from support.sampling import blurred, noisy_copy, scene

from odet_ros.errors import OdetError
from odet_ros.sampling import FrameSampler, Reason, SamplerSettings, assess
from odet_ros.sampling.quality import THUMBNAIL_SIZE, WORK_WIDTH, difference, working_grey

MS = 1_000_000


SETTINGS = SamplerSettings(period=0.0, blur_threshold=200.0, duplicate_threshold=4.0)


def test_sharp_frames_score_far_above_blurred_ones():
    sharp = assess(scene(1)).sharpness
    soft = assess(blurred(scene(1))).sharpness
    assert soft < SETTINGS.blur_threshold < sharp


def test_duplicate_difference_is_small_and_new_view_is_large():
    base = assess(scene(1)).thumbnail
    assert base.shape == (THUMBNAIL_SIZE[1], THUMBNAIL_SIZE[0])
    assert difference(base, assess(noisy_copy(scene(1), 5)).thumbnail) < 1.0
    assert difference(base, assess(scene(2)).thumbnail) > 10.0


def test_synthetic_stream_keeps_exactly_the_expected_frames():
    frames = [
        (scene(1), {Reason.KEPT}),
        (noisy_copy(scene(1), 10), {Reason.DUPLICATE}),
        (blurred(scene(2)), {Reason.BLURRED}),
        (scene(2), {Reason.KEPT}),
        (noisy_copy(scene(2), 11), {Reason.DUPLICATE}),
        (noisy_copy(scene(2), 12), {Reason.DUPLICATE}),
        (scene(3), {Reason.KEPT}),
        (blurred(scene(4)), {Reason.BLURRED}),
        (scene(1), {Reason.KEPT}),  # back to the first view: differs from the LAST kept frame
    ]
    sampler = FrameSampler(SETTINGS)
    reasons = [sampler.offer(i * 100 * MS, frame).reason for i, (frame, _) in enumerate(frames)]
    assert reasons == [next(iter(expected)) for _, expected in frames]
    counters = sampler.counters
    assert (counters.seen, counters.kept, counters.blurred, counters.duplicate) == (9, 4, 2, 3)
    assert counters.too_soon == 0


def test_duplicates_compare_against_the_last_kept_frame_not_the_last_seen():
    """A slow drift: each frame is close to the previous one but far from the last kept."""
    base = scene(7) // 2  # dark enough that the drift below never saturates
    sampler = FrameSampler(SamplerSettings(duplicate_threshold=5.0))
    kept = [sampler.offer(step * MS, base + 2 * step).keep for step in range(12)]
    # brightness rises 2 grey levels a frame: the third frame after a kept one is 6 away
    assert kept == [True, False, False] * 4


def test_period_is_measured_by_stamp_and_too_soon_frames_are_never_decoded():
    sampler = FrameSampler(SamplerSettings(period=0.5))
    decoded = []

    def frame(seed):
        def load():
            decoded.append(seed)
            return scene(seed)

        return load

    stamps_ms = [0, 100, 499, 500, 900, 1000, 1600]
    reasons = [sampler.offer(ms * MS, frame(i)).reason for i, ms in enumerate(stamps_ms)]
    assert reasons == [
        Reason.KEPT,
        Reason.TOO_SOON,
        Reason.TOO_SOON,
        Reason.KEPT,
        Reason.TOO_SOON,
        Reason.KEPT,
        Reason.KEPT,
    ]
    assert decoded == [0, 3, 5, 6]
    assert sampler.counters.too_soon == 3


def test_a_stamp_that_jumps_back_restarts_the_period():
    sampler = FrameSampler(SamplerSettings(period=10.0))
    assert sampler.offer(50_000 * MS, scene(1)).keep
    assert not sampler.offer(51_000 * MS, scene(2)).keep
    assert sampler.offer(0, scene(3)).keep


def test_thresholds_change_at_run_time():
    sampler = FrameSampler(SamplerSettings(blur_threshold=1e9))
    assert sampler.offer(0, scene(1)).reason is Reason.BLURRED
    sampler.settings = SamplerSettings(blur_threshold=0.0, duplicate_threshold=200.0)
    assert sampler.offer(1, scene(1)).reason is Reason.KEPT
    assert sampler.offer(2, scene(2)).reason is Reason.DUPLICATE
    sampler.settings = SamplerSettings(duplicate_threshold=4.0)
    assert sampler.offer(3, scene(2)).reason is Reason.KEPT


def test_snapshot_keeps_the_next_frame_whatever_the_filters_say():
    sampler = FrameSampler(SamplerSettings(period=60.0, blur_threshold=200.0))
    assert sampler.offer(0, scene(1)).keep
    soft_duplicate = blurred(scene(1))
    assert sampler.offer(MS, soft_duplicate).reason is Reason.TOO_SOON
    sampler.snapshot()
    decision = sampler.offer(2 * MS, soft_duplicate)
    assert decision.keep and decision.reason is Reason.SNAPSHOT
    assert decision.sharpness is not None and decision.sharpness < 200.0
    assert sampler.offer(3 * MS, scene(2)).reason is Reason.TOO_SOON  # only one frame
    assert (sampler.counters.kept, sampler.counters.snapshots) == (2, 1)


def test_calibration_sets_the_blur_threshold_to_a_percentile_of_observed_sharpness():
    frames = [scene(s) if s % 2 else blurred(scene(s)) for s in range(10)]
    observed = [assess(f).sharpness for f in frames]
    sampler = FrameSampler(SamplerSettings(blur_threshold=0.0))
    sampler.calibrate(seconds=0.8, percentile=50)
    decisions = [sampler.offer(i * 100 * MS, f) for i, f in enumerate(frames)]
    # the window closes on the first frame at least 0.8 s after the first: frame 8
    assert [d.calibrated_threshold is not None for d in decisions].index(True) == 8
    expected = float(np.percentile(observed[:9], 50))
    assert decisions[8].calibrated_threshold == pytest.approx(expected)
    assert sampler.settings.blur_threshold == pytest.approx(expected)
    assert not sampler.calibrating
    # before the window closed the old threshold (0: off) applied; after it, blur is rejected
    assert all(d.reason is not Reason.BLURRED for d in decisions[:8])
    assert decisions[8].reason is Reason.BLURRED  # frame 8 is a blurred one
    assert decisions[9].keep


def test_calibration_waits_for_enough_frames():
    sampler = FrameSampler()
    sampler.calibrate(seconds=0.1)
    stamps = [0, 1000 * MS, 2000 * MS, 3000 * MS, 4000 * MS]
    results = [sampler.offer(t, scene(i)).calibrated_threshold for i, t in enumerate(stamps)]
    assert results[:4] == [None] * 4
    assert results[4] is not None


@pytest.mark.parametrize(
    "settings",
    [{"period": -1.0}, {"blur_threshold": float("nan")}, {"duplicate_threshold": -0.1}],
)
def test_invalid_settings_name_the_setting(settings):
    name = next(iter(settings))
    with pytest.raises(OdetError, match=name):
        SamplerSettings(**settings)


def test_invalid_calibration_is_refused():
    with pytest.raises(OdetError, match="duration"):
        FrameSampler().calibrate(0)
    with pytest.raises(OdetError, match="percentile"):
        FrameSampler().calibrate(1.0, 120)


def test_grey_and_colour_frames_give_the_same_figures():
    colour = scene(3)
    grey = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(colour, cv2.COLOR_BGR2BGRA)
    figures = [assess(image) for image in (colour, grey, grey[:, :, None], bgra)]
    assert len({f.sharpness for f in figures}) == 1
    assert all(np.array_equal(f.thumbnail, figures[0].thumbnail) for f in figures)


def test_large_frames_are_measured_at_the_working_width():
    """Sharpness of the same view, equally blurred, stays comparable across resolutions."""
    small = blurred(scene(4, (480, 640)))
    large = cv2.resize(small, (1280, 960), interpolation=cv2.INTER_CUBIC)
    assert working_grey(large).shape == (480, WORK_WIDTH)
    ratio = assess(large).sharpness / assess(small).sharpness
    assert 0.5 < ratio < 2.0


@pytest.mark.parametrize(
    "image",
    [np.zeros((0, 10, 3), np.uint8), np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4), np.float32)],
)
def test_unusable_images_are_refused(image):
    with pytest.raises(OdetError, match="quality check"):
        assess(image)
