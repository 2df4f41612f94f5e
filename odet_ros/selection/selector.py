"""Which frames a deployed model asks to be labelled: one module for capture_node and
`odet bag select`.

What is usual is the model's own (:mod:`odet_ros.selection.profile`): its bundle's score
statistics and training views, or, for a model without them, its first minutes of footage
(``calibration_s``, said in :attr:`FrameSelector.profile_source`). Boxes under the profile's
floor are noise, not seen. A frame qualifies for any of the switched-on reasons:

- ``unsure``: at least ``unsure_share`` of the frame's boxes are unsure (default: every box):
  scored inside the band, from the floor to the model's sure line (what 19 in 20 of its false
  positives stay under, or, calibrated on footage, what its surest box beats 19 times in 20;
  ``unsure_band`` fixes the band instead), or, where the model gives
  each box's runner-up class (raw YOLO heads), with the best class less than ``unsure_margin``
  (0.1) ahead of it. The model sees something but is sure of nothing in the frame;
- ``unstable``: an object changed class or came back after vanishing for a few frames, or the
  number of boxes jumped (:mod:`odet_ros.selection.stability`);
- ``novel``: the view is further than ``novelty`` from every training view and every frame
  kept so far, by the colour signature the dataset export groups by
  (:mod:`odet_ros.sampling.similarity`: 0.1 ms a frame, where the detector's pooled features
  would need a second output in every exported model);
- ``blind``: the model sees less than it should: the frame's brightness, contrast or sharpness
  lies outside the training images' range, or it finds nothing or far fewer boxes than usual
  (a third) in a view unlike its training views: night, fog, a class it never learned.

It is then kept when its view is no copy of one the model was trained on (within
``trained_view`` of a training view, 0.1 by default: that view is labelled already, and a model
unsure there needs training, not more labels; only a bundle's training views count, not a
calibration's footage), when it is also sharp and no duplicate of the last kept frame (the
capture node's own filters), when fewer than ``per_view`` kept frames show the same view (a
hard room gives a few frames and leaves the budget for the next), and when the budget allows
(:mod:`odet_ros.selection.budget`): the first frame of a view not kept yet may take up to
``new_burst`` frames ahead of the rate, a further frame of a new condition (a view unlike the
training views, or conditions outside their range) one, others what the rate gives: coverage
first, then depth where the model meets something new.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from odet_ros.detection.types import Detections
from odet_ros.sampling import FrameSampler, SamplerSettings
from odet_ros.sampling.similarity import SAME_VIEW, view_distances, view_signature
from odet_ros.selection.budget import Budget
from odet_ros.selection.errors import SelectionError
from odet_ros.selection.profile import (
    VIEW_RADIUS,
    ModelProfile,
    OnlineCalibration,
    frame_conditions,
)
from odet_ros.selection.stability import StabilityWatch

REASONS = ("unsure", "unstable", "novel", "blind")
FIXED_BAND = (0.25, 0.6)  # the band while a model without statistics is being calibrated
FEWER = 1 / 3  # a frame with this share of the usual boxes or fewer sees "far fewer"
MAX_REMEMBERED_VIEWS = 5000  # kept views novelty compares with (the oldest are forgotten)


@dataclass(frozen=True)
class SelectionSettings:
    reasons: tuple[str, ...] = REASONS
    unsure_band: tuple[float, float] | None = None  # [low, high) scores; None: the model's
    unsure_share: float = 1.0  # share of the frame's boxes that must be unsure
    unsure_margin: float = 0.1  # best class ahead of the runner-up by less: unsure; 0: off
    count_jump: int = 2  # boxes gained or lost from one frame to the next; 0: off
    flicker_frames: int = 5  # an object missing for up to this many frames "comes back"
    novelty: float = SAME_VIEW  # view distance to every training view and kept frame: new
    per_view: int = 3  # frames kept of one view (within novelty of each other); 0: no limit
    trained_view: float = VIEW_RADIUS  # view distance to a training view under which: refused
    per_minute: float = 6.0  # budget: frames kept per minute of footage; 0: no limit
    total: int = 0  # budget: frames kept in all; 0: no limit
    new_burst: int = 3  # frames a view not kept yet may take ahead of the rate
    calibration_s: float = 120.0  # a model without statistics: seconds of footage it learns on
    quality: SamplerSettings = field(
        default_factory=lambda: SamplerSettings(blur_threshold=0.0, duplicate_threshold=4.0)
    )

    def __post_init__(self) -> None:
        unknown = [r for r in self.reasons if r not in REASONS]
        if unknown or not self.reasons:
            raise SelectionError(
                f"selection reasons must be some of {', '.join(REASONS)}, got"
                f" {', '.join(self.reasons) or 'none'}"
            )
        if self.unsure_band is not None:
            low, high = self.unsure_band
            if not 0 <= low < high <= 1:
                raise SelectionError(f"unsure band must be 0 <= low < high <= 1, got {low}-{high}")
        if not 0 < self.unsure_share <= 1:
            raise SelectionError(f"unsure share must be within (0, 1], got {self.unsure_share}")
        if not 0 <= self.unsure_margin <= 1:
            raise SelectionError(f"unsure margin must be within [0, 1], got {self.unsure_margin}")
        if not math.isfinite(self.novelty) or not 0 < self.novelty <= 1:
            raise SelectionError(f"novelty must be within (0, 1], got {self.novelty}")
        if not math.isfinite(self.trained_view) or not 0 <= self.trained_view <= 1:
            raise SelectionError(f"trained_view must be within [0, 1], got {self.trained_view}")
        if self.per_view < 0:
            raise SelectionError(f"per_view must be >= 0, got {self.per_view}")
        if self.count_jump < 0 or self.flicker_frames < 1:
            raise SelectionError("count_jump must be >= 0 and flicker_frames >= 1")
        if self.new_burst < 0:
            raise SelectionError(f"new_burst must be >= 0, got {self.new_burst}")
        if not math.isfinite(self.calibration_s) or self.calibration_s < 0:
            raise SelectionError(f"calibration_seconds must be >= 0, got {self.calibration_s}")

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> SelectionSettings:
        """Settings from flat values named as capture_node's parameters (``odet bag select``'s
        flags map onto them): ``select`` (reasons, as :func:`parse_reasons` reads them),
        ``unsure_low`` and ``unsure_high`` (a fixed band; both 0: the model's), ``budget``
        (the total), ``calibration_seconds``, ``blur_threshold``, ``duplicate_threshold``, and
        the other fields by their own names. Names not given keep their defaults; others are
        ignored (the node passes all its parameters)."""
        default = DEFAULT_SELECTION
        changes: dict[str, Any] = {}
        if "select" in values:
            changes["reasons"] = parse_reasons(str(values["select"]))
        low, high = (float(values.get(k, 0.0)) for k in ("unsure_low", "unsure_high"))
        if low or high:
            changes["unsure_band"] = (low, high)
        renamed = {"budget": "total", "calibration_seconds": "calibration_s"}
        for name, value in values.items():
            target = renamed.get(name, name)
            if target in PLAIN_FIELDS:
                changes[target] = type(getattr(default, target))(value)
        quality = {k: float(values[k]) for k in ("blur_threshold", "duplicate_threshold")
                   if k in values}  # fmt: skip
        if quality:
            changes["quality"] = replace(default.quality, **quality)
        return replace(default, **changes)

    def values(self) -> dict[str, Any]:
        """The flat values :meth:`from_values` reads back into these settings (capture_node's
        parameter defaults come from them)."""
        low, high = self.unsure_band or (0.0, 0.0)
        renamed = {"total": "budget", "calibration_s": "calibration_seconds"}
        plain = {renamed.get(name, name): getattr(self, name) for name in sorted(PLAIN_FIELDS)}
        return {
            "select": ",".join(self.reasons),
            "unsure_low": low,
            "unsure_high": high,
            **plain,
            "blur_threshold": self.quality.blur_threshold,
            "duplicate_threshold": self.quality.duplicate_threshold,
        }


DEFAULT_SELECTION = SelectionSettings()  # the defaults capture_node and odet bag select show
PLAIN_FIELDS = {f.name for f in fields(SelectionSettings)} - {"reasons", "unsure_band", "quality"}

# What the README recommends (bench/active.py: the richest in new conditions on both scenes);
# `odet bag select`'s default. `unstable` does no better than period sampling there.
RECOMMENDED_REASONS = ("unsure", "blind", "novel")

ALIASES = {"uncertain": "unsure", "unstable_tracks": "unstable", "new": "novel"}


def parse_reasons(text: str) -> tuple[str, ...]:
    """``"unsure,novel"`` or ``"all"`` as reasons (checked by SelectionSettings); the words
    people reach for first (``uncertain``, ``new``) are taken too."""
    if text.strip() == "all":
        return REASONS
    parts = (part.strip() for part in text.split(","))
    return tuple(dict.fromkeys(ALIASES.get(part, part) for part in parts if part))


@dataclass(frozen=True)
class Selection:
    """The verdict on one frame: ``reasons`` it qualified for (empty: none), whether it is
    kept, and if it qualified but is not kept, why (``trained_view``, ``budget``,
    ``same_view``, ``blurred``, ``duplicate``); ``new``: a view or conditions unlike the
    model's training."""

    keep: bool
    reasons: tuple[str, ...] = ()
    refused: str = ""
    new: bool = False


@dataclass
class SelectionCounts:
    seen: int = 0
    kept: int = 0
    kept_new: int = 0  # kept frames of new conditions
    by_reason: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    refused: dict[str, int] = field(default_factory=dict)


class FrameSelector:
    """Judges the frames of one camera, with the detections the model made on each."""

    def __init__(
        self, settings: SelectionSettings | None = None, profile: ModelProfile | None = None
    ) -> None:
        self.settings = settings or SelectionSettings()
        self.counts = SelectionCounts()
        self.profile = profile
        self._calibration = None
        if profile is None and self.settings.calibration_s > 0:
            floor = (self.settings.unsure_band or FIXED_BAND)[0]
            self._calibration = OnlineCalibration(self.settings.calibration_s, floor)
        self._quality = FrameSampler(self.settings.quality)
        self._budget = Budget(self.settings.per_minute, self.settings.total)
        self._stability = StabilityWatch(self.settings.flicker_frames)
        self._views = np.zeros((0, 512), np.float32)

    @property
    def exhausted(self) -> bool:
        """The total budget is spent: nothing more will be kept."""
        return self._budget.exhausted

    @property
    def band(self) -> tuple[float, float]:
        """The unsure band in use: fixed, the model's, or FIXED_BAND while calibrating."""
        if self.settings.unsure_band is not None:
            return self.settings.unsure_band
        if self.profile is not None:
            return self.profile.floor, self.profile.sure
        return FIXED_BAND

    @property
    def profile_source(self) -> str:
        """What "usual" is measured against, for the log and /diagnostics."""
        low, high = self.band
        if self.profile is not None:
            fixed = " (unsure band fixed)" if self.settings.unsure_band else ""
            return f"unsure band {low:.2f}-{high:.2f}; usual from {self.profile.source}{fixed}"
        if self._calibration is not None:
            return (
                f"the model has no score statistics: calibrating on the first"
                f" {self.settings.calibration_s:.0f} s of footage ({self._calibration.frames}"
                f" frames so far), unsure band {low:.2f}-{high:.2f} meanwhile"
            )
        return f"unsure band {low:.2f}-{high:.2f}, fixed; no usual figures (calibration off)"

    def offer(
        self,
        stamp_ns: int,
        detections: Detections,
        image: NDArray[np.uint8] | Callable[[], NDArray[np.uint8]],
    ) -> Selection:
        """Judge one frame (``image`` BGR, or a callable decoding it only when needed)."""
        self.counts.seen += 1
        pixels = _Lazy(image)
        seen = detections.select(detections.scores >= self.band[0])
        if self._calibration is not None:
            self._calibrate(stamp_ns, seen, pixels)
        reasons = self._reasons(seen, pixels)
        if not reasons:
            return Selection(False)
        new = self._new(pixels)
        refused = ""
        if self._trained_view(pixels):
            refused = "trained_view"
        elif not self._budget.allows(stamp_ns, self._ahead(pixels, new)):
            refused = "budget"
        elif self._view_full(pixels):
            refused = "same_view"
        else:
            decision = self._quality.offer(stamp_ns, pixels)
            if not decision.keep:
                refused = decision.reason.value
        if refused:
            self.counts.refused[refused] = self.counts.refused.get(refused, 0) + 1
            return Selection(False, reasons, refused, new)
        self._budget.spend()
        self._remember(pixels)
        self.counts.kept += 1
        self.counts.kept_new += new
        for reason in reasons:
            self.counts.by_reason[reason] += 1
        return Selection(True, reasons, new=new)

    def _calibrate(self, stamp_ns: int, seen: Detections, pixels: _Lazy) -> None:
        assert self._calibration is not None
        looks = {"novel", "blind"} & set(self.settings.reasons)
        measured = (pixels.conditions(), pixels.signature()) if looks else None
        profile = self._calibration.add(stamp_ns, seen, measured)
        if profile is not None:
            self.profile, self._calibration = profile, None

    def _reasons(self, seen: Detections, pixels: _Lazy) -> tuple[str, ...]:
        wanted = self.settings.reasons
        found = []
        if "unsure" in wanted and self._unsure(seen):
            found.append("unsure")
        change = self._stability.update(seen)
        if "unstable" in wanted and change.unstable(self.settings.count_jump):
            found.append("unstable")
        if "novel" in wanted and self._unlike_training(pixels) and self._alike(pixels) == 0:
            found.append("novel")
        if "blind" in wanted and self._blind(seen, pixels):
            found.append("blind")
        return tuple(found)

    def _unsure(self, seen: Detections) -> bool:
        if not len(seen):
            return False
        scores = seen.scores
        unsure = scores < self.band[1]
        if seen.runner_up is not None:
            unsure |= scores - seen.runner_up[1] < self.settings.unsure_margin
        return bool(unsure.mean() >= self.settings.unsure_share - 1e-9)

    def _blind(self, seen: Detections, pixels: _Lazy) -> bool:
        """Conditions outside the training range, or far fewer boxes than usual in a view
        unlike the training views."""
        profile = self.profile
        if profile is None:
            return False
        if profile.unusual_conditions(pixels.conditions()):
            return True
        fewer = len(seen) <= FEWER * profile.usual_boxes
        return fewer and len(profile.views) > 0 and self._unlike_training(pixels)

    def _ahead(self, pixels: _Lazy, new: bool) -> int:
        """Frames this one may take ahead of the rate: ``new_burst`` for the first frame of a
        view not kept yet, one for a further frame of a new condition, else none."""
        if self._alike(pixels) == 0:
            return self.settings.new_burst
        return 1 if new else 0

    def _new(self, pixels: _Lazy) -> bool:
        """A new condition, which the budget lets take frames ahead of the rate: a view unlike
        the training views, or conditions outside their range (a model without a profile:
        a view unlike every kept frame)."""
        profile = self.profile
        if profile is None or not len(profile.views):
            return self._alike(pixels) == 0
        return self._unlike_training(pixels) or profile.unusual_conditions(pixels.conditions())

    def _unlike_training(self, pixels: _Lazy) -> bool:
        """Further than ``novelty`` from every training view (True without any)."""
        distance = self._training_distance(pixels)
        return distance is None or distance > self.settings.novelty

    def _trained_view(self, pixels: _Lazy) -> bool:
        """Within ``trained_view`` of a view the model was trained on (a bundle's training
        views; never a calibration's footage, which nobody labelled)."""
        profile = self.profile
        if not self.settings.trained_view or profile is None or not profile.views_labelled:
            return False
        distance = self._training_distance(pixels)
        return distance is not None and distance <= self.settings.trained_view

    def _training_distance(self, pixels: _Lazy) -> float | None:
        """To the nearest training view (None without any), computed once a frame."""
        views = self.profile.views if self.profile is not None else self._views[:0]
        if not len(views):
            return None
        if pixels.training_distance is None:
            distances = view_distances(pixels.signature()[None], views)
            pixels.training_distance = float(distances.min())
        return pixels.training_distance

    def _view_full(self, pixels: _Lazy) -> bool:
        """``per_view`` frames of this view are kept already."""
        per_view = self.settings.per_view
        return bool(per_view) and len(self._views) >= per_view and self._alike(pixels) >= per_view

    def _alike(self, pixels: _Lazy) -> int:
        """Kept frames within ``novelty`` of this one: novelty and per_view both ask, the
        distances are computed once a frame."""
        if pixels.alike is None:
            alike = 0
            if len(self._views):
                distances = view_distances(pixels.signature()[None], self._views)
                alike = int((distances <= self.settings.novelty).sum())
            pixels.alike = alike
        return pixels.alike

    def _remember(self, pixels: _Lazy) -> None:
        views = np.vstack([self._views, pixels.signature()[None]])
        self._views = views[-MAX_REMEMBERED_VIEWS:]


class _Lazy:
    """A frame decoded, and its signature and conditions computed, at most once and only when
    asked."""

    def __init__(self, image: NDArray[np.uint8] | Callable[[], NDArray[np.uint8]]) -> None:
        self._source = image
        self._image: NDArray[np.uint8] | None = None
        self._signature: NDArray[np.float32] | None = None
        self._conditions: NDArray[np.float64] | None = None
        self.alike: int | None = None  # kept frames showing this view (FrameSelector._alike)
        self.training_distance: float | None = None  # to the nearest training view

    def __call__(self) -> NDArray[np.uint8]:
        if self._image is None:
            self._image = self._source() if callable(self._source) else self._source
        return self._image

    def signature(self) -> NDArray[np.float32]:
        if self._signature is None:
            self._signature = view_signature(self())
        return self._signature

    def conditions(self) -> NDArray[np.float64]:
        if self._conditions is None:
            self._conditions = frame_conditions(self())
        return self._conditions
