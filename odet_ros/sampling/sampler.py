"""Decide, frame by frame, which frames of one camera are worth keeping.

A frame is kept when enough time has passed since the last kept frame (by its stamp), it is sharp
enough, and it differs enough from the last kept frame. ``snapshot()`` keeps the next frame
whatever the filters say. The blur threshold can be calibrated from the first seconds of
footage. The sampler knows nothing of ROS or bags: the capture node and `odet bag export` both
feed it numpy frames and nanosecond stamps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from odet_ros.sampling.errors import SamplingError
from odet_ros.sampling.quality import FrameQuality, assess, difference

MIN_CALIBRATION_FRAMES = 5


class Reason(str, Enum):
    """Why a frame was kept or rejected."""

    KEPT = "kept"
    SNAPSHOT = "snapshot"
    TOO_SOON = "too_soon"
    BLURRED = "blurred"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class SamplerSettings:
    """Thresholds of one sampler; a value of 0 switches that filter off."""

    period: float = 0.0  # minimum seconds between kept frames, by stamp
    blur_threshold: float = 0.0  # reject frames whose sharpness is below this
    duplicate_threshold: float = 0.0  # reject frames whose difference to the last kept is below

    def __post_init__(self) -> None:
        for name in ("period", "blur_threshold", "duplicate_threshold"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise SamplingError(
                    f"sampler setting {name} must be a finite number >= 0, got {value}"
                )


@dataclass(frozen=True)
class Decision:
    """The verdict on one frame; the figures are None where they were not needed."""

    keep: bool
    reason: Reason
    sharpness: float | None = None
    difference: float | None = None
    calibrated_threshold: float | None = None  # set on the frame that ended a calibration


@dataclass
class Counters:
    """Frames seen and what became of them (kept includes snapshots)."""

    seen: int = 0
    kept: int = 0
    snapshots: int = 0
    too_soon: int = 0
    blurred: int = 0
    duplicate: int = 0

    def count(self, reason: Reason) -> None:
        self.seen += 1
        if reason in (Reason.KEPT, Reason.SNAPSHOT):
            self.kept += 1
        attribute = {
            Reason.SNAPSHOT: "snapshots",
            Reason.TOO_SOON: "too_soon",
            Reason.BLURRED: "blurred",
            Reason.DUPLICATE: "duplicate",
        }.get(reason)
        if attribute:
            setattr(self, attribute, getattr(self, attribute) + 1)


@dataclass
class _Calibration:
    """Sharpness observed during the first `seconds` of footage after calibrate()."""

    seconds: float
    percentile: float
    start_ns: int | None = None
    observed: list[float] = field(default_factory=list)

    def add(self, stamp_ns: int, sharpness: float) -> float | None:
        """Record one frame; return the threshold once the window is over."""
        if self.start_ns is None:
            self.start_ns = stamp_ns
        self.observed.append(sharpness)
        elapsed = (stamp_ns - self.start_ns) / 1e9
        if elapsed < self.seconds or len(self.observed) < MIN_CALIBRATION_FRAMES:
            return None
        return float(np.percentile(self.observed, self.percentile))


class FrameSampler:
    """Keeps the frames of one stream that are due, sharp and new."""

    def __init__(self, settings: SamplerSettings | None = None) -> None:
        self._settings = settings or SamplerSettings()
        self.counters = Counters()
        self._last_kept_ns: int | None = None
        self._last_kept_thumbnail: NDArray[np.uint8] | None = None
        self._snapshot_armed = False
        self._calibration: _Calibration | None = None

    @property
    def settings(self) -> SamplerSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: SamplerSettings) -> None:
        # Thresholds may change at run time; they apply from the next frame.
        self._settings = settings

    @property
    def calibrating(self) -> bool:
        return self._calibration is not None

    @property
    def snapshot_pending(self) -> bool:
        return self._snapshot_armed

    def snapshot(self) -> None:
        """Keep the next frame whatever the filters say (the "take a photo" button)."""
        self._snapshot_armed = True

    def calibrate(self, seconds: float, percentile: float = 20.0) -> None:
        """Set the blur threshold from the sharpness seen over the next `seconds` of stamps.

        The threshold becomes the given percentile of the observed sharpness (at least
        MIN_CALIBRATION_FRAMES frames), so about that share of similar footage is rejected as
        blurred. Until then frames are judged by the current threshold.
        """
        if not math.isfinite(seconds) or seconds <= 0:
            raise SamplingError(f"blur calibration needs a duration > 0 seconds, got {seconds}")
        if not 0 <= percentile <= 100:
            raise SamplingError(
                f"blur calibration percentile must be in [0, 100], got {percentile}"
            )
        self._calibration = _Calibration(seconds, percentile)

    def offer(
        self, stamp_ns: int, frame: NDArray[np.uint8] | Callable[[], NDArray[np.uint8]]
    ) -> Decision:
        """Judge one frame; `frame` may be a callable so that a frame that is too soon is
        never decoded (outside a calibration window)."""
        decision = self._decide(stamp_ns, frame)
        self.counters.count(decision.reason)
        return decision

    def _decide(
        self, stamp_ns: int, frame: NDArray[np.uint8] | Callable[[], NDArray[np.uint8]]
    ) -> Decision:
        settings = self._settings
        quality: FrameQuality | None = None
        calibrated = None
        if self._calibration is not None:
            quality = assess(_materialise(frame))
            calibrated = self._calibration.add(stamp_ns, quality.sharpness)
            if calibrated is not None:
                self._calibration = None
                settings = self._settings = replace(settings, blur_threshold=calibrated)
        if self._snapshot_armed:
            quality = quality or assess(_materialise(frame))
            self._snapshot_armed = False
            return self._keep(stamp_ns, quality, Reason.SNAPSHOT, None, calibrated)
        if self._too_soon(stamp_ns, settings.period):
            return Decision(False, Reason.TOO_SOON, calibrated_threshold=calibrated)
        quality = quality or assess(_materialise(frame))
        if quality.sharpness < settings.blur_threshold:
            return Decision(False, Reason.BLURRED, quality.sharpness, None, calibrated)
        change = None
        if self._last_kept_thumbnail is not None:
            change = difference(quality.thumbnail, self._last_kept_thumbnail)
            if change < settings.duplicate_threshold:
                return Decision(False, Reason.DUPLICATE, quality.sharpness, change, calibrated)
        return self._keep(stamp_ns, quality, Reason.KEPT, change, calibrated)

    def _too_soon(self, stamp_ns: int, period: float) -> bool:
        """A stamp earlier than the last kept one (a replay looped, a clock reset) is due."""
        if self._last_kept_ns is None or stamp_ns < self._last_kept_ns:
            return False
        return stamp_ns - self._last_kept_ns < period * 1e9

    def _keep(
        self,
        stamp_ns: int,
        quality: FrameQuality,
        reason: Reason,
        change: float | None,
        calibrated: float | None,
    ) -> Decision:
        self._last_kept_ns = stamp_ns
        self._last_kept_thumbnail = quality.thumbnail
        return Decision(True, reason, quality.sharpness, change, calibrated)


def _materialise(frame: NDArray[np.uint8] | Callable[[], NDArray[np.uint8]]) -> NDArray[np.uint8]:
    return frame() if callable(frame) else frame
