"""What is usual for the model a selection runs with, so that "unsure", "sees less than it
should" and "novel" are measured against that model, not against fixed numbers.

- :class:`ScoreStats`: the model's scores on its validation split, as `odet train` and `odet
  export` record them in ``bundle.yaml`` (``scores``): quantiles of the true and false positives'
  scores (IoU 0.5, boxes from ``SCORE_FLOOR``), of each image's surest box, of the boxes it
  finds per image at its best-F1 threshold, and that threshold.
- :class:`TrainingViews`: a compact summary of the images it was trained on
  (``training_views.npz`` in the bundle, tens of kB): up to ``MAX_VIEWS`` colour signatures
  covering every training image within ``VIEW_RADIUS`` (the signature the export groups by,
  :mod:`odet_ros.sampling.similarity`), and quantiles of brightness, contrast and sharpness.
- :class:`ModelProfile`: what the selector reads: the score from which a box is sure, the boxes
  a frame usually holds, the range of image conditions and the training views. From a bundle
  that has them, or, for a model without, from the first minutes of footage
  (:class:`OnlineCalibration`: running quantiles of what the model found there, which stand for
  the familiar).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from odet_ros.detection.bundle import BUNDLE_FILE, ModelBundle, resolve_model
from odet_ros.detection.types import Detections
from odet_ros.imaging.opencv import uint8_image
from odet_ros.sampling.quality import sharpness, working_grey
from odet_ros.sampling.similarity import SIGNATURE_BINS, view_distances, view_signature
from odet_ros.selection.errors import SelectionError

QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
SCORE_FLOOR = 0.05  # scores under this are left out of the score statistics
NOISE_QUANTILE = 0.75  # boxes scoring under 3 in 4 of the false positives are noise ...
SURE_FP_QUANTILE = 0.95  # ... boxes above 19 in 20 of them are sure
SURE_QUANTILE = 0.05  # without statistics: what a familiar frame's surest box beats 19 times in 20
MIN_BAND = 0.05  # the unsure band is at least this wide
MIN_CALIBRATION_FRAMES = 30
MAX_VIEWS = 256  # training views kept in the summary
VIEW_RADIUS = 0.1  # every training image lies within this view distance of a kept view
CONDITIONS = ("brightness", "contrast", "sharpness")
CONDITION_QUANTILES = (0.01, 0.99)  # the usual range of each condition ...
CONDITION_MARGIN = 0.25  # ... widened by this share of its width on each side
VIEWS_FILE = "training_views.npz"
SIGNATURE_SIZE = SIGNATURE_BINS**3


@dataclass(frozen=True)
class ScoreStats:
    """The model's scores on a labelled split; quantiles at ``QUANTILES``."""

    split: str
    images: int
    best_f1_conf: float
    true_positives: tuple[float, ...]
    false_positives: tuple[float, ...]
    top_score: tuple[float, ...]  # each image's surest box (0 where it found none)
    boxes_per_image: tuple[float, ...]  # boxes scoring best_f1_conf or more

    def to_dict(self) -> dict[str, Any]:
        """For ``bundle.yaml``'s ``scores``."""
        return {
            "split": self.split,
            "images": self.images,
            "score_floor": SCORE_FLOOR,
            "quantiles": list(QUANTILES),
            "best_f1_conf": round(float(self.best_f1_conf), 4),
            **{
                name: [round(float(v), 4) for v in getattr(self, name)]
                for name in ("true_positives", "false_positives", "top_score", "boxes_per_image")
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> ScoreStats:
        """Read ``bundle.yaml``'s ``scores``; an OdetError names ``where`` on a bad one."""
        try:
            if tuple(data["quantiles"]) != QUANTILES:
                raise ValueError(f"quantiles {data['quantiles']}, expected {list(QUANTILES)}")
            lists = {
                name: tuple(float(v) for v in data[name])
                for name in ("true_positives", "false_positives", "top_score", "boxes_per_image")
            }
            if any(len(values) != len(QUANTILES) for values in lists.values()):
                raise ValueError("each list needs one value per quantile")
            return cls(str(data["split"]), int(data["images"]), float(data["best_f1_conf"]),
                       **lists)  # fmt: skip
        except (KeyError, TypeError, ValueError) as error:
            raise SelectionError(
                f"{where}: scores: not the model's score statistics ({error})"
            ) from None

    def quantile(self, name: str, q: float) -> float:
        """Quantile ``q`` of one of the lists, interpolated between the recorded ones."""
        return float(np.interp(q, QUANTILES, getattr(self, name)))


def frame_conditions(image: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Brightness (mean grey), contrast (its standard deviation) and sharpness (the log of
    the variance of the Laplacian at the capture filter's working width: it spans decades) of
    one frame."""
    grey = working_grey(image)
    mean, std = cv2.meanStdDev(grey)
    return np.array([mean[0, 0], std[0, 0], np.log1p(sharpness(grey))], np.float64)


@dataclass(frozen=True)
class TrainingViews:
    """A summary of the images a model learned from (see the module docstring)."""

    signatures: NDArray[np.float32]  # (K, S)
    conditions: NDArray[np.float64]  # (len(CONDITIONS), len(QUANTILES))
    images: int

    @classmethod
    def measure(cls, images: Iterable[NDArray[np.uint8] | Path]) -> TrainingViews:
        """Summarise images (arrays, or files read one at a time); unreadable files are skipped."""
        cover = ViewCover()
        measured = []
        for item in images:
            image = _read(item) if isinstance(item, Path) else item
            if image is None:
                continue
            cover.add(view_signature(image))
            measured.append(frame_conditions(image))
        if not measured:
            raise SelectionError("no readable image to summarise the training views from")
        conditions = np.quantile(np.array(measured), QUANTILES, axis=0).T
        return cls(cover.signatures, conditions, len(measured))

    def save(self, path: Path) -> None:
        with path.open("wb") as stream:
            np.savez_compressed(
                stream,
                signatures=self.signatures.astype(np.float16),
                conditions=self.conditions.astype(np.float32),
                quantiles=np.array(QUANTILES, np.float32),
                images=np.array(self.images),
            )

    @classmethod
    def load(cls, path: Path) -> TrainingViews:
        try:
            with np.load(path) as data:
                signatures = data["signatures"].astype(np.float32)
                conditions = data["conditions"].astype(np.float64)
                images = int(data["images"])
                quantiles = tuple(round(float(q), 4) for q in data["quantiles"])
        except (OSError, KeyError, ValueError) as error:
            raise SelectionError(f"{path}: not a training views summary ({error})") from None
        expected = (len(CONDITIONS), len(QUANTILES))
        if (
            signatures.ndim != 2
            or signatures.shape[1] != SIGNATURE_SIZE
            or conditions.shape != expected
            or quantiles != QUANTILES
        ):
            raise SelectionError(
                f"{path}: not a training views summary of this odet (signatures"
                f" {signatures.shape}, conditions {conditions.shape})"
            )
        return cls(signatures, conditions, images)

    def condition_range(self) -> NDArray[np.float64]:
        """(len(CONDITIONS), 2): the usual low and high of each condition (see
        CONDITION_QUANTILES and CONDITION_MARGIN)."""
        return condition_range(
            np.array([np.interp(CONDITION_QUANTILES, QUANTILES, row) for row in self.conditions])
        )


def _read(path: Path) -> NDArray[np.uint8] | None:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if image is None else uint8_image(image)


def condition_range(bounds: NDArray[np.float64]) -> NDArray[np.float64]:
    """Bounds (low, high) per condition widened by CONDITION_MARGIN of their width."""
    width = bounds[:, 1] - bounds[:, 0]
    return np.stack([bounds[:, 0] - CONDITION_MARGIN * width,
                     bounds[:, 1] + CONDITION_MARGIN * width], axis=1)  # fmt: skip


class ViewCover:
    """Signatures chosen so that every one offered lies within ``VIEW_RADIUS`` of one of them,
    up to ``MAX_VIEWS`` (after which the cover only gets coarser)."""

    def __init__(self) -> None:
        self.signatures = np.zeros((0, SIGNATURE_SIZE), np.float32)

    def add(self, signature: NDArray[np.float32]) -> None:
        if len(self.signatures):
            nearest = float(view_distances(signature[None], self.signatures).min())
            if nearest <= VIEW_RADIUS or len(self.signatures) >= MAX_VIEWS:
                return
        self.signatures = np.vstack([self.signatures, signature[None]])


@dataclass(frozen=True)
class ModelProfile:
    """What is usual for the model (see the module docstring)."""

    source: str  # where the figures come from, for the log
    floor: float  # boxes scoring under this are noise: not seen (the unsure band's bottom)
    sure: float  # boxes scoring this or more are sure (the band's top)
    usual_boxes: float  # boxes scoring ``floor`` or more in a familiar frame (median)
    conditions: NDArray[np.float64] | None = None  # (len(CONDITIONS), 2) usual low, high
    views: NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, SIGNATURE_SIZE), np.float32)
    )
    views_labelled: bool = False  # the views are the training images' (else: footage's)

    @classmethod
    def of_model(cls, model: str | Path) -> ModelProfile | None:
        """The profile a model's bundle records; None for a model without one (a bare model
        file, or a bundle written before odet recorded scores)."""
        resolved = resolve_model(model)
        bundle = resolved.bundle
        if bundle is None or not bundle.scores:
            return None
        return cls.of_bundle(bundle, resolved.path.parent)

    @classmethod
    def of_bundle(cls, bundle: ModelBundle, folder: Path) -> ModelProfile:
        stats = ScoreStats.from_dict(bundle.scores, str(folder / BUNDLE_FILE))
        views = None
        if bundle.training_views:
            views = TrainingViews.load(folder / bundle.training_views)
        source = f"{folder.name}'s {stats.split} split ({stats.images} images)"
        return cls.of_stats(stats, views, source)

    @classmethod
    def of_stats(cls, stats: ScoreStats, views: TrainingViews | None, source: str) -> ModelProfile:
        """Boxes scoring under what 3 in 4 of the model's false positives score are noise;
        over what 19 in 20 of them score, sure (a frame of familiar places whose best box is
        no better than a false positive is unsure: measured on the false positives, which
        move less than the true positives' scores when the footage is noisier than val)."""
        floor = max(stats.quantile("false_positives", NOISE_QUANTILE), SCORE_FLOOR)
        sure = max(stats.quantile("false_positives", SURE_FP_QUANTILE), floor + MIN_BAND)
        return cls(
            source=source,
            floor=floor,
            sure=min(sure, 1.0),
            usual_boxes=stats.quantile("boxes_per_image", 0.5),
            conditions=None if views is None else views.condition_range(),
            views=np.zeros((0, SIGNATURE_SIZE), np.float32) if views is None else views.signatures,
            views_labelled=views is not None,
        )

    def unusual_conditions(self, conditions: NDArray[np.float64]) -> bool:
        """Whether a frame's conditions fall outside the usual range (False when unknown)."""
        if self.conditions is None:
            return False
        return bool(
            np.any((conditions < self.conditions[:, 0]) | (conditions > self.conditions[:, 1]))
        )


class OnlineCalibration:
    """A profile for a model that brings none: running figures of the first ``seconds`` of
    footage (by stamp, at least ``MIN_CALIBRATION_FRAMES`` frames), which stand for what the
    model knows: each frame's surest box from ``floor``, its box count and, when the selection
    looks at pixels, its conditions and view."""

    def __init__(self, seconds: float, floor: float) -> None:
        self.seconds, self.floor = seconds, floor
        self.frames = 0
        self._first_ns: int | None = None
        self._top: list[float] = []
        self._boxes: list[int] = []
        self._conditions: list[NDArray[np.float64]] = []
        self._cover = ViewCover()

    def add(
        self,
        stamp_ns: int,
        seen: Detections,
        pixels: tuple[NDArray[np.float64], NDArray[np.float32]] | None = None,
    ) -> ModelProfile | None:
        """Take one frame (its boxes from ``floor``; its conditions and view signature, or
        None); returns the profile once the footage is long enough."""
        if self._first_ns is None:
            self._first_ns = stamp_ns
        self.frames += 1
        if len(seen):
            self._top.append(float(seen.scores.max()))
        self._boxes.append(len(seen))
        if pixels is not None:
            self._conditions.append(pixels[0])
            self._cover.add(pixels[1])
        elapsed = (stamp_ns - self._first_ns) / 1e9
        if elapsed < self.seconds or self.frames < MIN_CALIBRATION_FRAMES:
            return None
        sure = float(np.quantile(self._top, SURE_QUANTILE)) if self._top else 1.0
        conditions = None
        if self._conditions:
            bounds = np.quantile(np.array(self._conditions), CONDITION_QUANTILES, axis=0).T
            conditions = condition_range(bounds)
        return ModelProfile(
            source=f"the first {elapsed:.0f} s of footage ({self.frames} frames)",
            floor=self.floor,
            sure=min(max(sure, self.floor + MIN_BAND), 1.0),
            usual_boxes=float(np.median(self._boxes)),
            conditions=conditions,
            views=self._cover.signatures,
        )
