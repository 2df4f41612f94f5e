"""The input size of an export: square, or fitted to the robot camera's frames.

A ``.pt`` (and a dynamic ONNX) runs on the smallest stride-aligned rectangle that holds the
letterboxed frame; a fixed-size export fitted to the camera (``odet export --camera WxH``) gets
that same input, so it does a fifth less work than a square one on a 4:3 camera and loses no
accuracy to padding against its ``.pt`` (the demo's ONNX scores the ``.pt``'s mAP50-95).
"""

from __future__ import annotations

import cv2
import numpy as np

from odet_ros.detection.letterbox import LetterboxGeometry
from odet_ros.training.data import TrainingDataset


def export_input_size(imgsz: int, camera: tuple[int, int] | None, stride: int) -> tuple[int, int]:
    """The exported input (height, width): ``imgsz`` square, or with ``camera`` the smallest
    stride-aligned rectangle that holds its frames letterboxed to ``imgsz`` (a 640x480 camera at
    320: 256x320, the input a ``.pt`` gets, a fifth less work than 320x320)."""
    if camera is None:
        return imgsz, imgsz
    width, height = camera
    return LetterboxGeometry.fit((height, width), (imgsz, imgsz), stride=stride).input_hw


def common_frame_size(dataset: TrainingDataset, samples: int = 20) -> tuple[int, int] | None:
    """(width, height) shared by train images spread over the split; None if they differ."""
    images = [sample.image for sample in dataset.splits["train"].samples]
    picks = np.linspace(0, len(images) - 1, min(samples, len(images))).round().astype(int)
    sizes = set()
    for index in sorted(set(picks.tolist())):
        image = cv2.imread(str(images[index]), cv2.IMREAD_COLOR)
        if image is None:
            return None
        sizes.add((image.shape[1], image.shape[0]))
    return sizes.pop() if len(sizes) == 1 else None


def camera_hint(
    dataset: TrainingDataset, imgsz: int, stride: int, input_hw: tuple[int, int]
) -> str | None:
    """Say so when the train images share a frame size that a --camera export would fit."""
    size = common_frame_size(dataset)
    if size is None:
        return None
    fitted = export_input_size(imgsz, size, stride)
    if fitted == input_hw:
        return None
    share = fitted[0] * fitted[1] / (input_hw[0] * input_hw[1])
    return (
        f"the train images are {size[0]}x{size[1]}: --camera {size[0]}x{size[1]} would export a"
        f" {fitted[1]}x{fitted[0]} input, {share:.0%} of the {input_hw[1]}x{input_hw[0]} pixels,"
        " the input the .pt itself gets"
    )
