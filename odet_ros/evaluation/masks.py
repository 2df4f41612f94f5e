"""Mask scores: pycocotools' COCOeval with ``iouType="segm"``, on the same matching and AP as
boxes (:mod:`.coco`), with the pixel IoU of each predicted mask and each labelled outline.

The ground truth is each label polygon rasterised as pycocotools rasterises it
(:func:`odet_ros.labels.rle.polygon_mask`), the predictions are the detector's masks at the
image's pixels; IoU is intersection over union of the two pixel sets, as pycocotools' ``rleIou``
(0 where both are empty). The matching machinery works on boxes, so each prediction and object
stands in as its own index, and :class:`MaskOverlaps` looks the pair's IoU up: every group the
matching visits lies in one image, whose IoU matrix is computed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from odet_ros.dataset.reader import GroundTruth
from odet_ros.detection.types import Detections
from odet_ros.evaluation.matching import FlatBoxes, flatten_ground_truth, flatten_predictions
from odet_ros.evaluation.metrics import DEFAULT_CONF, Evaluation, score_matches
from odet_ros.labels.rle import polygon_mask


@dataclass(frozen=True)
class MaskOverlaps:
    """The IoU of every prediction with every object of its image, flattened image by image;
    called with index-coded boxes (column 0) as the matching's IoU function."""

    table: NDArray[np.float64]
    row_start: NDArray[np.int64]  # per prediction: where its row of its image's matrix starts
    column: NDArray[np.int64]  # per object: its column in its image's matrix

    def __call__(self, a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        predictions = a[..., :, None, 0].astype(np.int64)
        objects = b[..., None, :, 0].astype(np.int64)
        found: NDArray[np.float64] = self.table[self.row_start[predictions] + self.column[objects]]
        return found

    @classmethod
    def of(
        cls,
        predictions: Sequence[Detections],
        truths: Sequence[GroundTruth],
        sizes: Sequence[tuple[int, int]],
    ) -> MaskOverlaps:
        blocks: list[NDArray[np.float64]] = []
        row_start: list[int] = []
        column: list[int] = []
        offset = 0
        for image, (found, truth, size) in enumerate(zip(predictions, truths, sizes, strict=True)):
            objects = _object_masks(truth, size, image)
            overlaps = _overlaps(found, objects, image)
            blocks.append(overlaps.ravel())
            row_start.extend((offset + np.arange(len(found)) * len(objects)).tolist())
            column.extend(range(len(objects)))
            offset += overlaps.size
        return cls(
            np.concatenate([np.zeros(0), *blocks]),
            np.array(row_start, np.int64),
            np.array(column, np.int64),
        )


def evaluate_masks(
    predictions: Sequence[Detections],
    truths: Sequence[GroundTruth],
    sizes: Sequence[tuple[int, int]],
    names: Sequence[str],
    *,
    conf: float = DEFAULT_CONF,
) -> Evaluation:
    """COCO-mode scores of each image's predicted masks against its labelled outlines (``sizes``:
    each image's (height, width))."""
    if not len(predictions) == len(truths) == len(sizes):
        raise ValueError(
            f"{len(predictions)} images of predictions, {len(truths)} of ground truth and"
            f" {len(sizes)} sizes"
        )
    overlaps = MaskOverlaps.of(predictions, truths, sizes)
    preds = _indexed(flatten_predictions(predictions))
    objects = _indexed(flatten_ground_truth(truths))
    return score_matches(
        preds, objects, names, len(truths), mode="coco", conf=conf, overlap=overlaps
    )


def _indexed(boxes: FlatBoxes) -> FlatBoxes:
    """The same boxes, each standing as its own index (column 0) for :class:`MaskOverlaps`."""
    index = np.zeros((len(boxes), 4), np.float64)
    index[:, 0] = np.arange(len(boxes))
    return replace(boxes, xyxy=index)


def _object_masks(truth: GroundTruth, size: tuple[int, int], image: int) -> NDArray[np.bool_]:
    """(M, height, width) pixels of each labelled object."""
    if len(truth.class_ids) and truth.polygons is None:
        raise ValueError(f"ground truth of image {image} has boxes but no outlines")
    polygons = truth.polygons or []
    masks = np.zeros((len(polygons), *size), bool)
    for index, polygon in enumerate(polygons):
        masks[index] = polygon_mask(polygon, *size)
    return masks


def _overlaps(found: Detections, objects: NDArray[np.bool_], image: int) -> NDArray[np.float64]:
    """(D, M) pixel IoU of each predicted mask with each object."""
    overlaps = np.zeros((len(found), len(objects)), np.float64)
    if not len(found) or not len(objects):
        return overlaps
    if found.masks is None:
        raise ValueError(f"predictions of image {image} carry no masks")
    object_areas = objects.reshape(len(objects), -1).sum(axis=1)
    for index, (crop, (x0, y0)) in enumerate(
        zip(found.masks.crops, found.masks.origins.tolist(), strict=True)
    ):
        window = objects[:, y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]]
        inter = (window & crop).reshape(len(objects), -1).sum(axis=1)
        union = int(crop.sum()) + object_areas - inter
        overlaps[index] = np.divide(inter, union, out=np.zeros(len(objects)), where=union > 0)
    return overlaps
