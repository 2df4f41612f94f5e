"""The in-memory form every label format reads into and writes from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass
class ImageLabels:
    """The boxes of one image.

    ``name`` is the image's file name as the source gives it (it may hold folders). ``xyxy`` is
    (N, 4) float64 normalised to the image (0-1); ``width``/``height`` are the pixel size where
    the source states it (pixel formats need it to write). ``scores`` is set for model
    predictions, which ``predicted`` marks (not reviewed by a person); ``labelled`` is False for
    an image nobody labelled yet (a tool shows it as a task to do, not as an empty one).
    """

    name: str
    xyxy: NDArray[np.float64]
    class_ids: NDArray[np.int64]
    width: int | None = None
    height: int | None = None
    scores: NDArray[np.float64] | None = None
    predicted: bool = False
    labelled: bool = True

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, np.float64).reshape(-1, 4)
        self.class_ids = np.asarray(self.class_ids, np.int64).reshape(-1)
        if len(self.class_ids) != len(self.xyxy):
            raise ValueError(f"{self.name}: {len(self.xyxy)} boxes but {len(self.class_ids)} ids")
        if self.scores is not None:
            self.scores = np.asarray(self.scores, np.float64).reshape(-1)

    def __len__(self) -> int:
        return len(self.class_ids)

    def pixels(self) -> NDArray[np.float64]:
        """The boxes in pixels (needs ``width`` and ``height``)."""
        if self.width is None or self.height is None:
            raise ValueError(f"{self.name}: image size unknown")
        return self.xyxy * np.array([self.width, self.height, self.width, self.height], np.float64)


@dataclass
class LabelSet:
    """Class names and the labelled images of one source; ``skipped`` counts what the reader
    left out, by reason (polygons, crowd regions, tasks without annotations ...)."""

    names: list[str]
    images: list[ImageLabels]
    skipped: Counter[str] = field(default_factory=Counter)


def normalised(pixels: NDArray[np.float64], width: float, height: float) -> NDArray[np.float64]:
    """Pixel xyxy boxes divided by the image size."""
    return np.asarray(pixels, np.float64).reshape(-1, 4) / np.array(
        [width, height, width, height], np.float64
    )
