"""Per-frame quality figures: sharpness (blur) and a thumbnail for near-duplicate detection.

Both come from one grey image. Frames wider than ``WORK_WIDTH`` are first reduced to that width:
the variance of the Laplacian depends on resolution (the same scene, equally blurred, scores
about 10x lower at 1280 px than at 640 px), so measuring at a fixed width lets one blur threshold
mean the same thing for every camera, and it is cheaper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray

from odet_ros.imaging.opencv import uint8_image
from odet_ros.sampling.errors import SamplingError

if TYPE_CHECKING:
    pass

WORK_WIDTH = 640
THUMBNAIL_SIZE = (64, 48)  # (width, height) of the grey thumbnail compared between frames


@dataclass(frozen=True)
class FrameQuality:
    """What the sampler needs to judge a frame."""

    sharpness: float  # variance of the Laplacian of the grey frame at WORK_WIDTH
    thumbnail: NDArray[np.uint8]  # THUMBNAIL_SIZE grey


def working_grey(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The frame as 8-bit grey, no wider than WORK_WIDTH (BGR/BGRA/grey uint8 input)."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise SamplingError(
            f"quality check needs a non-empty 8-bit grey or colour image, "
            f"got dtype {image.dtype} and shape {image.shape}"
        )
    if image.ndim == 3:
        conversions = {1: None, 3: cv2.COLOR_BGR2GRAY, 4: cv2.COLOR_BGRA2GRAY}
        channels = image.shape[2]
        if channels not in conversions:
            raise SamplingError(f"quality check cannot use an image with {channels} channels")
        conversion = conversions[channels]
        image = (
            image[:, :, 0] if conversion is None else uint8_image(cv2.cvtColor(image, conversion))
        )
    height, width = image.shape
    if width > WORK_WIDTH:
        size = (WORK_WIDTH, max(1, round(height * WORK_WIDTH / width)))
        image = uint8_image(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    return image


def sharpness(grey: NDArray[np.uint8]) -> float:
    """Variance of the Laplacian: low on blurred or featureless frames."""
    _, std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_16S))
    return float(std[0, 0]) ** 2


def thumbnail(grey: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Small grey image whose difference to another says whether the scene changed."""
    return uint8_image(cv2.resize(grey, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA))


def difference(thumbnail_a: NDArray[np.uint8], thumbnail_b: NDArray[np.uint8]) -> float:
    """Mean absolute grey-level difference (0-255) between two thumbnails."""
    return cv2.norm(thumbnail_a, thumbnail_b, cv2.NORM_L1) / thumbnail_a.size


def assess(image: NDArray[np.uint8]) -> FrameQuality:
    """Sharpness and thumbnail of one frame, sharing a single grey conversion."""
    grey = working_grey(image)
    return FrameQuality(sharpness=sharpness(grey), thumbnail=thumbnail(grey))
