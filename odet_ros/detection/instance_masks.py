"""The pixels of each detection, kept where they are: a crop at its box, not a full frame each.

A segmentation model's detection covers at most its box, so a mask is stored as the boolean crop
of its box and the crop's top-left pixel: a 640x480 frame with 20 objects holds the few thousand
pixels of their boxes, not 20 frames. What consumers want from them is built on demand: one
label image for the frame (:meth:`InstanceMasks.label_image`, the node's ``instance_masks``
topic: pixel = index of the detection + 1, 0 = background), the outlines to draw, a full-frame
mask for scoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from odet_ros.labels.polygons import Polygon, mask_parts


@dataclass(frozen=True)
class InstanceMasks:
    """Masks of N detections of one (height, width) image: ``crops[i]`` is a boolean array whose
    top-left pixel is ``origins[i]`` (x, y) in the image."""

    image_hw: tuple[int, int]
    origins: NDArray[np.int64]
    crops: tuple[NDArray[np.bool_], ...]

    def __post_init__(self) -> None:
        if self.origins.shape != (len(self.crops), 2):
            raise ValueError(f"{len(self.crops)} crops but origins of shape {self.origins.shape}")

    def __len__(self) -> int:
        return len(self.crops)

    @classmethod
    def empty(cls, image_hw: tuple[int, int]) -> InstanceMasks:
        return cls(image_hw, np.zeros((0, 2), np.int64), ())

    def select(self, keep: NDArray[np.bool_] | NDArray[np.int64] | Sequence[int]) -> InstanceMasks:
        """The masks of a boolean mask or index array, in its order."""
        index = np.arange(len(self))[np.asarray(keep)]
        return InstanceMasks(
            self.image_hw, self.origins[index], tuple(self.crops[i] for i in index.tolist())
        )

    def areas(self) -> NDArray[np.int64]:
        """Pixels per mask."""
        return np.array([int(crop.sum()) for crop in self.crops], np.int64).reshape(-1)

    def full(self, index: int) -> NDArray[np.bool_]:
        """Mask ``index`` as a whole (height, width) image."""
        mask = np.zeros(self.image_hw, bool)
        x0, y0 = self.origins[index].tolist()
        crop = self.crops[index]
        mask[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
        return mask

    def pixels(self, index: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(rows, columns) of mask ``index``'s pixels in the image."""
        rows, columns = np.nonzero(self.crops[index])
        x0, y0 = self.origins[index].tolist()
        return rows + y0, columns + x0

    def label_image(self) -> NDArray[np.uint16]:
        """One (height, width) uint16 image: pixel = index of its detection + 1, 0 where none.
        Where masks overlap, the pixel goes to the detection listed first (the higher score)."""
        labels = np.zeros(self.image_hw, np.uint16)
        for index in range(len(self) - 1, -1, -1):
            x0, y0 = self.origins[index].tolist()
            crop = self.crops[index]
            labels[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]][crop] = index + 1
        return labels

    def outline(self, index: int) -> list[Polygon]:
        """Mask ``index``'s outer contours in image pixels (pixel x spans x to x + 1)."""
        x0, y0 = self.origins[index].tolist()
        corner = np.array([x0, y0], np.float64)
        return [part + corner for part in mask_parts(self.crops[index])]
