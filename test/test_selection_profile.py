"""Selection that fits the model: what is usual comes from the model's bundle (score statistics
on its validation split, a summary of its training views) or from its first minutes of footage,
and "unsure", "blind" and "novel" are measured against it; a new condition gets frames ahead of
the rate, familiar frames only what the rate leaves."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
import yaml
from support.sampling import noisy_copy, scene

from odet_ros.dataset.reader import GroundTruth
from odet_ros.detection.bundle import BUNDLE_FILE, ModelBundle
from odet_ros.detection.types import Detections
from odet_ros.errors import OdetError
from odet_ros.evaluation.scores import score_stats
from odet_ros.sampling import SamplerSettings
from odet_ros.selection import DEFAULT_SELECTION, FrameSelector, SelectionSettings
from odet_ros.selection.budget import Budget
from odet_ros.selection.configure import configure_selection
from odet_ros.selection.profile import (
    MAX_VIEWS,
    QUANTILES,
    ModelProfile,
    OnlineCalibration,
    ScoreStats,
    TrainingViews,
    frame_conditions,
)

SECOND = 1_000_000_000
CUP = [10.0, 10.0, 60.0, 80.0]
BOTTLE = [200.0, 40.0, 240.0, 150.0]
MODEL = "test/data/brightness_model.onnx"


def boxes(*scores: float) -> Detections:
    xyxy = [CUP if i % 2 == 0 else BOTTLE for i in range(len(scores))]
    return Detections.from_arrays(np.array(xyxy).reshape(-1, 4), list(scores), [0] * len(scores))


def stats(sure: float = 0.8) -> ScoreStats:
    """A model 19 in 20 of whose false positives score under ``sure``, 3 in 4 under 0.3."""
    fp = np.interp(QUANTILES, [0, 0.75, 0.95, 1], [0.05, 0.3, sure, sure + 0.02])
    tp = np.interp(QUANTILES, [0, 0.1, 1], [0.2, sure, 0.97])
    return ScoreStats("val", 50, 0.4, tuple(tp), tuple(fp), tuple(tp),
                      tuple(float(v) for v in np.linspace(1, 5, len(QUANTILES))))  # fmt: skip


def profile(sure: float = 0.8, views: list[np.ndarray] | None = None) -> ModelProfile:
    """The profile of ``stats(sure)``, trained on ``views`` (images) when given."""
    summary = TrainingViews.measure(views) if views else None
    return ModelProfile.of_stats(stats(sure), summary, "test")


def chooser(reasons: str, profile: ModelProfile | None = None, **values: float) -> FrameSelector:
    settings = SelectionSettings.from_values({"select": reasons, "per_minute": 0, **values})
    settings = SelectionSettings(**{**vars(settings), "quality": SamplerSettings()})
    return FrameSelector(settings, profile)


def test_score_statistics_of_true_and_false_positives_and_of_each_frame():
    truths = [GroundTruth(np.array([CUP, BOTTLE], np.float64), np.array([0, 0]))] * 4
    found = [
        Detections.from_arrays([CUP, BOTTLE, [300, 0, 320, 20]], [0.9, 0.7, 0.3], [0, 0, 0]),
        Detections.from_arrays([CUP, [300, 0, 320, 20]], [0.8, 0.2], [0, 0]),
        Detections.from_arrays([BOTTLE], [0.6], [0]),
        Detections.empty(),
    ]
    measured = score_stats(found, truths, 1, 0.5, "val")
    # quantiles 0.01-0.99 of TPs 0.6, 0.7, 0.8, 0.9 (the 0.2 and 0.3 boxes hit nothing)
    assert measured.quantile("true_positives", 0.01) == pytest.approx(0.603)
    assert measured.quantile("true_positives", 0.99) == pytest.approx(0.897)
    assert measured.quantile("false_positives", 0.99) == pytest.approx(0.299)
    assert measured.quantile("top_score", 0.5) == pytest.approx(np.median([0.9, 0.8, 0.6, 0]))
    assert measured.quantile("boxes_per_image", 0.99) == pytest.approx(1.97)  # 2 at best-F1 0.5
    again = ScoreStats.from_dict(measured.to_dict(), "x")
    assert again == ScoreStats.from_dict(yaml.safe_load(yaml.safe_dump(measured.to_dict())), "x")
    with pytest.raises(
        OdetError, match=r"models/a/bundle.yaml: scores: not the model's score statistics"
    ):
        ScoreStats.from_dict({"split": "val"}, "models/a/bundle.yaml")


def test_the_training_views_summary_is_small_and_covers_the_training_images(tmp_path):
    images = [noisy_copy(scene(i % 400), i) for i in range(800)]  # 400 views, twice each
    summary = TrainingViews.measure(images)
    assert summary.images == 800 and len(summary.signatures) == MAX_VIEWS
    summary.save(tmp_path / "views.npz")
    assert (tmp_path / "views.npz").stat().st_size < 300_000  # well under a megabyte
    loaded = TrainingViews.load(tmp_path / "views.npz")
    np.testing.assert_allclose(loaded.signatures, summary.signatures, atol=1e-3)
    low, high = loaded.condition_range().T
    measured = np.array([frame_conditions(image) for image in images])
    assert np.mean(np.all((low <= measured) & (measured <= high), axis=1)) > 0.98
    assert np.all(np.quantile(measured, 0.5, axis=0) < high)
    (tmp_path / "bad.npz").write_bytes(b"not numpy")
    with pytest.raises(OdetError, match=r"bad\.npz: not a training views summary"):
        TrainingViews.load(tmp_path / "bad.npz")


def test_unsure_is_below_what_this_model_usually_reaches():
    """For a model 19 in 20 of whose false positives score under 0.8, a frame whose best box
    scores 0.7 is unsure; for one whose false positives stay under 0.5, 0.7 is sure. The
    fixed band of earlier versions judged both alike."""
    confident, timid = chooser("unsure", profile(0.8)), chooser("unsure", profile(0.5))
    assert confident.offer(0, boxes(0.7, 0.6), scene(1)).reasons == ("unsure",)
    assert timid.offer(0, boxes(0.7, 0.6), scene(1)).reasons == ()
    assert confident.offer(SECOND, boxes(0.85, 0.6), scene(2)).reasons == ()  # one sure box
    fixed = chooser("unsure", profile(0.8), unsure_low=0.25, unsure_high=0.6)
    assert fixed.band == (0.25, 0.6)
    assert fixed.offer(0, boxes(0.7), scene(1)).reasons == ()
    assert "fixed" in fixed.profile_source


def test_blind_is_conditions_outside_training_or_far_fewer_boxes_in_an_unlike_view():
    trained = [noisy_copy(scene(i), i) for i in range(10)]
    selector = chooser("blind", profile(0.8, trained))
    dark = (trained[0] * 0.25).astype(np.uint8)
    assert selector.offer(0, boxes(0.9, 0.9, 0.9), dark).reasons == ("blind",)
    unlike = scene(99)
    assert selector.offer(SECOND, boxes(), unlike).reasons == ("blind",)  # sees nothing
    assert selector.offer(2 * SECOND, boxes(0.9, 0.9, 0.9), unlike).reasons == ()  # as usual
    familiar = noisy_copy(trained[3], 7)
    assert selector.offer(3 * SECOND, boxes(), familiar).reasons == ()  # an empty known view


def test_novel_means_unlike_the_training_views_too():
    trained = [noisy_copy(scene(i), i) for i in range(10)]
    selector = chooser("novel", profile(0.8, trained))
    assert selector.offer(0, boxes(), noisy_copy(trained[2], 5)).reasons == ()
    assert selector.offer(SECOND, boxes(), scene(50)).reasons == ("novel",)
    assert selector.offer(2 * SECOND, boxes(), noisy_copy(scene(50), 1)).reasons == ()  # kept


def test_a_model_without_statistics_calibrates_on_its_first_minutes_and_says_so():
    selector = chooser("unsure,blind", calibration_seconds=60)
    assert selector.profile is None and "calibrating" in selector.profile_source
    assert selector.band == (0.25, 0.6)
    for i in range(61):  # a minute of a familiar place: one box at 0.45-0.55
        selector.offer(i * SECOND, boxes(0.45 + 0.1 * (i % 11) / 10), noisy_copy(scene(3), i))
    assert selector.profile is not None
    assert "first 60 s of footage (61 frames)" in selector.profile_source
    low, high = selector.band
    assert low == 0.25 and high == pytest.approx(0.455, abs=0.01)
    assert selector.offer(70 * SECOND, boxes(0.5), noisy_copy(scene(3), 99)).reasons == ()
    assert selector.offer(71 * SECOND, boxes(0.4), noisy_copy(scene(3), 98)).reasons == ("unsure",)
    dark = (scene(3) * 0.2).astype(np.uint8)
    assert selector.offer(72 * SECOND, boxes(0.5), dark).reasons == ("blind",)


def test_calibration_without_pixels_decodes_nothing():
    decoded = []

    def image():
        decoded.append(1)
        return scene(1)

    calibration = OnlineCalibration(1.0, 0.25)
    assert calibration.add(0, boxes(0.5)) is None
    selector = chooser("unsure", calibration_seconds=30)
    for i in range(40):
        selector.offer(i * SECOND, boxes(0.9), image)
    assert decoded == [] and selector.profile is not None


def test_a_new_view_right_after_a_familiar_keep_still_gets_frames():
    """A familiar frame took the last token; the first frame of a view not kept yet takes one
    ahead of the rate all the same (up to new_burst), a further frame of a new condition one,
    others wait for the rate, and the frames taken ahead are repaid."""
    trained = [noisy_copy(scene(i), i) for i in range(5)]
    settings = SelectionSettings(("unsure", "blind"), per_minute=6, total=20, per_view=5,
                                 trained_view=0)  # familiar: copies of a training view  # fmt: skip
    selector = FrameSelector(replace(settings, quality=SamplerSettings()), profile(0.8, trained))
    familiar = [noisy_copy(trained[1], i) for i in range(4)]
    kept = [selector.offer(i * SECOND, boxes(0.5), familiar[i]).keep for i in range(3)]
    assert kept == [True, True, False]  # a tenth of the total at once, then the rate
    night = (scene(70) * 0.2).astype(np.uint8)
    first = selector.offer(3 * SECOND, boxes(), night)
    assert first.keep and first.new  # right after: taken ahead of the rate
    moved = [np.roll(night, shift, axis=1) for shift in (5, 9, 13)]
    assert not selector.offer(4 * SECOND, boxes(), moved[0]).keep  # one ahead: once repaid
    assert selector.offer(11 * SECOND, boxes(), moved[1]).keep
    assert not selector.offer(12 * SECOND, boxes(), moved[2]).keep
    assert selector.counts.refused == {"budget": 3}
    assert not selector.offer(20 * SECOND, boxes(0.5), familiar[3]).keep  # repaying
    assert selector.offer(40 * SECOND, boxes(0.5), familiar[3]).keep


def test_a_copy_of_a_training_view_is_not_kept_for_it_is_labelled_already():
    """A model unsure of a view it was trained on gets no budget for it (unless trained_view
    is 0); the same frame unlike the training views is kept, and views a model without a
    bundle calibrated on never count as labelled."""
    trained = [noisy_copy(scene(i), i) for i in range(5)]
    copy, elsewhere = noisy_copy(trained[2], 9), scene(40)
    selector = chooser("unsure", profile(0.8, trained))
    verdict = selector.offer(0, boxes(0.5), copy)
    assert verdict.reasons == ("unsure",) and not verdict.keep
    assert verdict.refused == "trained_view"
    assert selector.offer(SECOND, boxes(0.5), elsewhere).keep
    assert selector.counts.refused == {"trained_view": 1}
    assert chooser("unsure", profile(0.8, trained), trained_view=0).offer(0, boxes(0.5), copy).keep
    calibrated = chooser("unsure,novel", calibration_seconds=30)
    for i in range(31):
        calibrated.offer(i * SECOND, boxes(0.9), noisy_copy(trained[2], i))
    assert calibrated.profile is not None and len(calibrated.profile.views)
    assert calibrated.offer(40 * SECOND, boxes(0.3), copy).keep


def test_the_budget_lets_a_frame_take_frames_ahead_and_repays_them():
    budget = Budget(per_minute=6, total=20)
    assert budget.capacity == 2
    for _ in range(2):
        assert budget.allows(0)
        budget.spend()
    assert not budget.allows(0) and budget.allows(0, ahead=1)
    budget.spend()
    assert not budget.allows(SECOND, ahead=1) and budget.allows(SECOND, ahead=3)
    assert budget.allows(15 * SECOND, ahead=1) and not budget.allows(15 * SECOND)


def test_per_view_still_stops_one_new_condition_taking_everything():
    trained = [noisy_copy(scene(i), i) for i in range(5)]
    settings = SelectionSettings(("blind",), per_minute=6, total=30, per_view=3)
    selector = FrameSelector(settings, profile(0.8, trained))
    night = (scene(60) * 0.2).astype(np.uint8)
    nights = [np.roll(night, 3 * i, axis=1) for i in range(50)]  # panning: one view, no twins
    kept = [selector.offer(i * SECOND // 5, boxes(), night).keep for i, night in enumerate(nights)]
    assert sum(kept) == 3 and selector.counts.kept_new == 3
    assert selector.counts.refused["same_view"] > 30  # the rest: the budget


def test_settings_from_parameter_values_round_trip():
    assert SelectionSettings.from_values(DEFAULT_SELECTION.values()) == DEFAULT_SELECTION
    values = {"select": "unsure,blind", "unsure_low": 0.3, "unsure_high": 0.7, "budget": 40,
              "calibration_seconds": 30.0, "duplicate_threshold": 6.0, "period": 1.0}  # fmt: skip
    settings = SelectionSettings.from_values(values)
    assert settings.reasons == ("unsure", "blind") and settings.unsure_band == (0.3, 0.7)
    assert settings.total == 40 and settings.calibration_s == 30.0
    assert settings.quality.duplicate_threshold == 6.0
    assert SelectionSettings.from_values(settings.values()) == settings
    assert SelectionSettings.from_values({"unsure_low": 0.0}).unsure_band is None
    with pytest.raises(OdetError, match="unsure band"):
        SelectionSettings.from_values({"unsure_low": 0.7, "unsure_high": 0.3})


def test_a_bundle_with_statistics_gives_its_profile_a_bare_model_calibrates(tmp_path):
    bundle = tmp_path / "cups_v1"
    bundle.mkdir()
    shutil.copy(MODEL, bundle / "model.onnx")
    TrainingViews.measure([scene(i) for i in range(5)]).save(bundle / "training_views.npz")
    described = ModelBundle("model.onnx", ["bright", "never"], scores=stats(0.7).to_dict(),
                            training_views="training_views.npz")  # fmt: skip
    described.save(bundle)
    configured = configure_selection({"select": "all"}, bundle)
    assert configured.model[0] == "cups_v1" and configured.profile is not None
    assert configured.profile.sure == pytest.approx(0.7)
    assert configured.profile.floor == pytest.approx(0.3)
    assert len(configured.profile.views) == 5
    assert "cups_v1's val split (50 images)" in configured.selector().profile_source

    bare = configure_selection({"select": "all"}, MODEL)
    assert bare.profile is None and bare.model[0] == "brightness_model.onnx"
    assert "calibrating" in bare.selector().profile_source
    missing = configure_selection({"select": "all"}, "no_such_model")
    assert missing.model == ("no_such_model", "") and "recording its name only" in missing.warning

    data = yaml.safe_load((bundle / BUNDLE_FILE).read_text())
    data["scores"]["top_score"] = [0.5]
    (bundle / BUNDLE_FILE).write_text(yaml.safe_dump(data))
    broken = configure_selection({"select": "all"}, bundle)
    assert broken.profile is None and broken.model[0] == "cups_v1"
    assert "bundle.yaml: scores: not the model's score statistics" in broken.warning
