"""Track ids for detections, with supervision's ByteTrack (numpy only: works with every backend).

supervision 0.30 is the last release that ships ByteTrack; its successor, the ``trackers``
package, needs numpy 2, which a ROS 2 Humble robot cannot have. Hence the pin in setup.py.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Protocol

import numpy as np

from odet_ros.detection.types import Detections
from odet_ros.errors import OdetError

TRACKERS = ("none", "bytetrack")


class Tracker(Protocol):
    """What the detector needs of a tracker."""

    def update(self, detections: Detections) -> Detections: ...

    def reset(self) -> None: ...


class ByteTracker:
    """Assigns ids that stay with an object across frames; untracked boxes are left out."""

    def __init__(self, frame_rate: float = 30.0, activation_threshold: float = 0.25) -> None:
        try:
            import supervision
        except ImportError as error:
            raise OdetError(
                "tracker 'bytetrack' needs supervision<0.31: pip install 'odet_ros[tracking]'"
            ) from error
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            self._tracker = supervision.ByteTrack(
                track_activation_threshold=activation_threshold, frame_rate=frame_rate
            )
        self._supervision = supervision

    def update(self, detections: Detections) -> Detections:
        """The detections that belong to a track, with ``track_ids`` set."""
        runner_up = detections.runner_up
        data: dict[str, np.ndarray | list[object]] = {"index": np.arange(len(detections))}
        if runner_up is not None:
            data["runner_up"] = np.stack(runner_up, axis=1)
        tracked = self._tracker.update_with_detections(
            self._supervision.Detections(
                xyxy=detections.xyxy,
                confidence=detections.scores,
                class_id=detections.class_ids,
                data=data,
            )
        )
        # supervision keeps the scores and classes it was given, so neither is None here
        assert tracked.confidence is not None and tracked.class_id is not None
        kept = tracked.data.get("runner_up")
        kept = None if kept is None else np.asarray(kept)
        result = Detections.from_arrays(
            tracked.xyxy,
            tracked.confidence,
            tracked.class_id,
            tracked.tracker_id,
            runner_up=None if kept is None else (kept[:, 0], kept[:, 1]),
        )
        if detections.masks is None:
            return result
        index = np.asarray(tracked.data["index"], np.int64).reshape(-1)
        return replace(result, masks=detections.masks.select(index))

    def reset(self) -> None:
        self._tracker.reset()


def make_tracker(
    name: str, frame_rate: float = 30.0, activation_threshold: float = 0.25
) -> Tracker | None:
    """A tracker by parameter value ('none' gives None)."""
    if name not in TRACKERS:
        raise OdetError(f"tracker must be one of {TRACKERS}, not {name!r}")
    if name == "none":
        return None
    return ByteTracker(frame_rate, activation_threshold)
