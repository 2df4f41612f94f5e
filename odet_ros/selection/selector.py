"""Which frames a deployed model asks to be labelled: one module for capture_node and
`odet bag select`.

A frame qualifies for any of the switched-on reasons:

- ``unsure``: at least ``unsure_share`` of the frame's boxes are unsure (default: every box):
  scored inside the band (default 0.25-0.6), or, where the model gives each box's runner-up
  class (raw YOLO heads), with the best class less than ``unsure_margin`` (0.1) ahead of it.
  The model sees something but is sure of nothing in the frame. A frame
  with one unsure box among sure ones is the rule in a busy scene, not the exception: counting
  it (``unsure_share`` near 0) spreads the budget over every room where `bench/active.py`
  measures it better spent on the rooms the model does not know;
- ``unstable``: an object changed class or came back after vanishing for a few frames, or the
  number of boxes jumped (:mod:`odet_ros.selection.stability`);
- ``novel``: the view is far from every frame kept so far. The measure is the colour signature
  the dataset export groups by (:mod:`odet_ros.sampling.similarity`): a novel frame is one that
  would start a new group, and it costs 0.1 ms where the detector's pooled features would need
  a second output in every exported model (ONNX, LiteRT, TensorRT).

It is then kept when it is also sharp and no duplicate of the last kept frame (the capture
node's own filters), when fewer than ``per_view`` kept frames show the same view (a robot parked
in front of a hard scene, or a hard room, gives a few frames and leaves the budget for the
next), and when the budget allows (:mod:`odet_ros.selection.budget`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from odet_ros.detection.types import Detections
from odet_ros.errors import OdetError
from odet_ros.sampling import FrameSampler, SamplerSettings
from odet_ros.sampling.similarity import SAME_VIEW, view_distances, view_signature
from odet_ros.selection.budget import Budget
from odet_ros.selection.stability import StabilityWatch

REASONS = ("unsure", "unstable", "novel")
MAX_REMEMBERED_VIEWS = 5000  # kept views novelty compares with (the oldest are forgotten)


@dataclass(frozen=True)
class SelectionSettings:
    reasons: tuple[str, ...] = REASONS
    unsure_band: tuple[float, float] = (0.25, 0.6)  # [low, high) detection scores
    unsure_share: float = 1.0  # share of the frame's boxes that must be unsure
    unsure_margin: float = 0.1  # best class ahead of the runner-up by less: unsure; 0: off
    count_jump: int = 2  # boxes gained or lost from one frame to the next; 0: off
    flicker_frames: int = 5  # an object missing for up to this many frames "comes back"
    novelty: float = SAME_VIEW  # view distance to every kept frame above which a frame is new
    per_view: int = 3  # frames kept of one view (within novelty of each other); 0: no limit
    per_minute: float = 6.0  # budget: frames kept per minute of footage; 0: no limit
    total: int = 0  # budget: frames kept in all; 0: no limit
    quality: SamplerSettings = field(
        default_factory=lambda: SamplerSettings(blur_threshold=0.0, duplicate_threshold=4.0)
    )

    def __post_init__(self) -> None:
        unknown = [r for r in self.reasons if r not in REASONS]
        if unknown or not self.reasons:
            raise OdetError(
                f"selection reasons must be some of {', '.join(REASONS)}, got"
                f" {', '.join(self.reasons) or 'none'}"
            )
        low, high = self.unsure_band
        if not 0 <= low < high <= 1:
            raise OdetError(f"unsure band must be 0 <= low < high <= 1, got {low}-{high}")
        if not 0 < self.unsure_share <= 1:
            raise OdetError(f"unsure share must be within (0, 1], got {self.unsure_share}")
        if not 0 <= self.unsure_margin <= 1:
            raise OdetError(f"unsure margin must be within [0, 1], got {self.unsure_margin}")
        if not math.isfinite(self.novelty) or not 0 < self.novelty <= 1:
            raise OdetError(f"novelty must be within (0, 1], got {self.novelty}")
        if self.per_view < 0:
            raise OdetError(f"per_view must be >= 0, got {self.per_view}")
        if self.count_jump < 0 or self.flicker_frames < 1:
            raise OdetError("count_jump must be >= 0 and flicker_frames >= 1")


DEFAULT_SELECTION = SelectionSettings()  # the defaults capture_node and odet bag select show

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
    kept, and if it qualified but is not kept, why (``blurred``, ``duplicate``, ``budget``)."""

    keep: bool
    reasons: tuple[str, ...] = ()
    refused: str = ""


@dataclass
class SelectionCounts:
    seen: int = 0
    kept: int = 0
    by_reason: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    refused: dict[str, int] = field(default_factory=dict)


class FrameSelector:
    """Judges the frames of one camera, with the detections the model made on each."""

    def __init__(self, settings: SelectionSettings | None = None) -> None:
        self.settings = settings or SelectionSettings()
        self.counts = SelectionCounts()
        self._quality = FrameSampler(self.settings.quality)
        self._budget = Budget(self.settings.per_minute, self.settings.total)
        self._stability = StabilityWatch(self.settings.flicker_frames)
        self._views = np.zeros((0, 512), np.float32)

    @property
    def exhausted(self) -> bool:
        """The total budget is spent: nothing more will be kept."""
        return self._budget.exhausted

    def offer(
        self,
        stamp_ns: int,
        detections: Detections,
        image: NDArray[np.uint8] | Callable[[], NDArray[np.uint8]],
    ) -> Selection:
        """Judge one frame (``image`` BGR, or a callable decoding it only when needed)."""
        self.counts.seen += 1
        pixels = _Lazy(image)
        reasons = self._reasons(detections, pixels)
        if not reasons:
            return Selection(False)
        refused = ""
        if not self._budget.allows(stamp_ns):
            refused = "budget"
        elif self._view_full(pixels):
            refused = "same_view"
        else:
            decision = self._quality.offer(stamp_ns, pixels)
            if not decision.keep:
                refused = decision.reason.value
        if refused:
            self.counts.refused[refused] = self.counts.refused.get(refused, 0) + 1
            return Selection(False, reasons, refused)
        self._budget.spend()
        self._remember(pixels)
        self.counts.kept += 1
        for reason in reasons:
            self.counts.by_reason[reason] += 1
        return Selection(True, reasons)

    def _reasons(self, detections: Detections, pixels: _Lazy) -> tuple[str, ...]:
        wanted = self.settings.reasons
        found = []
        if "unsure" in wanted and self._unsure(detections):
            found.append("unsure")
        change = self._stability.update(detections)
        if "unstable" in wanted and change.unstable(self.settings.count_jump):
            found.append("unstable")
        if "novel" in wanted and self._novel(pixels):
            found.append("novel")
        return tuple(found)

    def _unsure(self, detections: Detections) -> bool:
        if not len(detections):
            return False
        low, high = self.settings.unsure_band
        scores = detections.scores
        scored = scores >= low
        unsure = scored & (scores < high)
        if detections.runner_up is not None:
            unsure |= scored & (scores - detections.runner_up[1] < self.settings.unsure_margin)
        return bool(unsure.any() and unsure.mean() >= self.settings.unsure_share - 1e-9)

    def _novel(self, pixels: _Lazy) -> bool:
        return self._alike(pixels) == 0

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
    """A frame decoded, and its signature computed, at most once and only when asked."""

    def __init__(self, image: NDArray[np.uint8] | Callable[[], NDArray[np.uint8]]) -> None:
        self._source = image
        self._image: NDArray[np.uint8] | None = None
        self._signature: NDArray[np.float32] | None = None
        self.alike: int | None = None  # kept frames showing this view (FrameSelector._alike)

    def __call__(self) -> NDArray[np.uint8]:
        if self._image is None:
            self._image = self._source() if callable(self._source) else self._source
        return self._image

    def signature(self) -> NDArray[np.float32]:
        if self._signature is None:
            self._signature = view_signature(self())
        return self._signature
