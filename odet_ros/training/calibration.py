"""Int8 calibration images: the team's own train images, never Ultralytics' coco8.

Static int8 quantisation measures the range of every activation on sample images; ranges
measured on other scenes (Ultralytics falls back to coco8 when it is given no ``data``) clip or
waste the int8 steps on the robot's images. The samples are the dataset's train images,
letterboxed by the detection core's own :class:`~odet_ros.detection.letterbox.Letterboxer`, so
calibration sees exactly the tensors the robot's detector will feed the model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from odet_ros.detection.letterbox import Letterboxer
from odet_ros.training.data import TrainingDataset
from odet_ros.training.errors import ExportError

log = logging.getLogger(__name__)

CALIBRATION_SPLIT = "train"
RECOMMENDED_IMAGES = 300
MAX_IMAGES = 500  # spread evenly over the split; more adds time, not accuracy


@dataclass(frozen=True)
class Calibration:
    """The images int8 ranges are measured on."""

    images: list[Path]
    split: str
    dataset_hash: str

    def samples(self, input_hw: tuple[int, int]) -> Iterator[NDArray[np.float32]]:
        """Each readable image as the detector's input tensor: letterboxed NCHW float32 0-1."""
        letterbox = Letterboxer(input_hw, layout="nchw", dtype=np.float32)
        for path in self.images:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                log.warning("calibration: skipping unreadable image %s", path)
                continue
            yield letterbox(image)[0].copy()

    def describe(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "images": len(self.images),
            "dataset_hash": self.dataset_hash,
        }


def prepare_calibration(dataset: TrainingDataset | None, fmt: str) -> Calibration:
    """The calibration images of ``dataset``; an error without one, a warning when few."""
    if dataset is None:
        raise ExportError(
            f"--format {fmt} calibrates int8 ranges on your dataset's train images: pass --data"
            " DATA (odet never falls back to Ultralytics' coco8 sample images)"
        )
    images = [sample.image for sample in dataset.splits[CALIBRATION_SPLIT].samples]
    if len(images) < RECOMMENDED_IMAGES:
        log.warning(
            "int8 calibration on only %d train images of %s; %d or more are recommended, or the"
            " measured ranges may not cover what the robot sees",
            len(images),
            dataset.yaml_file,
            RECOMMENDED_IMAGES,
        )
    if len(images) > MAX_IMAGES:
        chosen = np.linspace(0, len(images) - 1, MAX_IMAGES).round().astype(int)
        images = [images[i] for i in chosen]
    return Calibration(images, CALIBRATION_SPLIT, dataset.fingerprint)
