"""Int8 calibration images: the train split, letterboxed as the detector does; never without a
dataset. No torch needed (runs in the robot profile too)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from support.training import make_dataset

from odet_ros.detection.letterbox import Letterboxer
from odet_ros.training import calibration
from odet_ros.training.calibration import prepare_calibration
from odet_ros.training.data import open_dataset
from odet_ros.training.errors import ExportError


def test_calibration_uses_the_train_images_as_the_detector_sees_them(tmp_path, caplog):
    dataset = open_dataset(make_dataset(tmp_path / "ds", splits=(("train", 5), ("val", 2))))
    chosen = prepare_calibration(dataset, "tflite-int8")
    assert chosen.images == [s.image for s in dataset.splits["train"].samples]
    assert chosen.describe() == {"split": "train", "images": 5, "dataset_hash": dataset.fingerprint}
    assert "int8 calibration on only 5 train images" in caplog.text
    samples = list(chosen.samples((64, 64)))
    assert len(samples) == 5
    expected, _ = Letterboxer((64, 64), layout="nchw")(cv2.imread(str(chosen.images[0])))
    np.testing.assert_array_equal(samples[0], expected)
    assert samples[0] is not samples[1]  # each its own array, not the letterbox's buffer


def test_large_train_splits_are_sampled_evenly(tmp_path, monkeypatch):
    monkeypatch.setattr(calibration, "MAX_IMAGES", 4)
    dataset = open_dataset(make_dataset(tmp_path / "ds", splits=(("train", 10), ("val", 2))))
    chosen = prepare_calibration(dataset, "tflite-int8").images
    train = [s.image for s in dataset.splits["train"].samples]
    assert chosen == [train[i] for i in (0, 3, 6, 9)]


def test_no_dataset_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(ExportError, match="pass --data DATA"):
        prepare_calibration(None, "tflite-int8")
