"""The in-memory form every label format reads into and writes from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from odet_ros.labels.polygons import Polygon, as_polygon, rectangle


@dataclass
class ImageLabels:
    """The boxes (and outlines) of one image.

    ``name`` is the image's file name as the source gives it (it may hold folders). ``xyxy`` is
    (N, 4) float64 normalised to the image (0-1); ``width``/``height`` are the pixel size where
    the source states it (pixel formats need it to write). ``polygons`` is None for boxes only,
    else one (K, 2) normalised outline per object (see :func:`outlined`). ``scores`` is set for
    model predictions, which ``predicted`` marks (not reviewed by a person); ``labelled`` is
    False for an image nobody labelled yet (a tool shows it as a task to do, not as an empty
    one).
    """

    name: str
    xyxy: NDArray[np.float64]
    class_ids: NDArray[np.int64]
    width: int | None = None
    height: int | None = None
    scores: NDArray[np.float64] | None = None
    predicted: bool = False
    labelled: bool = True
    polygons: list[Polygon] | None = None

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, np.float64).reshape(-1, 4)
        self.class_ids = np.asarray(self.class_ids, np.int64).reshape(-1)
        if len(self.class_ids) != len(self.xyxy):
            raise ValueError(f"{self.name}: {len(self.xyxy)} boxes but {len(self.class_ids)} ids")
        if self.scores is not None:
            self.scores = np.asarray(self.scores, np.float64).reshape(-1)
        if self.polygons is not None:
            self.polygons = [as_polygon(p) for p in self.polygons]
            if len(self.polygons) != len(self.class_ids):
                raise ValueError(
                    f"{self.name}: {len(self.polygons)} polygons but {len(self.class_ids)} ids"
                )

    def __len__(self) -> int:
        return len(self.class_ids)

    def pixels(self) -> NDArray[np.float64]:
        """The boxes in pixels (needs ``width`` and ``height``)."""
        if self.width is None or self.height is None:
            raise ValueError(f"{self.name}: image size unknown")
        return self.xyxy * np.array([self.width, self.height, self.width, self.height], np.float64)

    def pixel_polygons(self) -> list[Polygon]:
        """The outlines in pixels (needs ``polygons``, ``width`` and ``height``)."""
        if self.width is None or self.height is None or self.polygons is None:
            raise ValueError(f"{self.name}: image size or outlines unknown")
        scale = np.array([self.width, self.height], np.float64)
        return [polygon * scale for polygon in self.polygons]

    def subset(self, keep: NDArray[np.bool_]) -> ImageLabels:
        """The same image with only the objects ``keep`` marks."""
        polygons = None
        if self.polygons is not None:
            polygons = [p for p, k in zip(self.polygons, keep.tolist(), strict=True) if k]
        scores = None if self.scores is None else self.scores[keep]
        return replace(
            self,
            xyxy=self.xyxy[keep],
            class_ids=self.class_ids[keep],
            scores=scores,
            polygons=polygons,
        )


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


def outlined(
    xyxy: NDArray[np.float64], polygons: list[Polygon | None]
) -> tuple[NDArray[np.float64], list[Polygon] | None]:
    """Boxes and outlines of one image whose objects a tool gave as boxes or polygons (None):
    boxes only when no object has an outline; else every object gets one, a box its rectangle
    (YOLO-seg, like Ultralytics, cannot mix box and polygon rows in one file). The boxes stay
    the tool's (a COCO ``bbox`` covers an object's hidden part too; a label file of outlines
    gives their bounds)."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    if all(p is None for p in polygons):
        return boxes, None
    filled = [
        rectangle(box) if p is None else as_polygon(p)
        for box, p in zip(boxes, polygons, strict=True)
    ]
    return boxes, filled
