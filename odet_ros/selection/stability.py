"""Where the model flickers: objects that vanish for a frame or two and come back, objects whose
class changes from one frame to the next, and sudden changes in how many objects it sees.

With track ids (the detector's ByteTrack) an object is its id; without, a box is the same object
as the previous frame's box it overlaps most (IoU over ``MATCH_IOU``), which is enough to tell
a class flip or a flicker at camera rates.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from odet_ros.detection.types import Detections
from odet_ros.labels.boxes import iou_matrix

MATCH_IOU = 0.5


@dataclass(frozen=True)
class Instability:
    """What changed on this frame; empty when nothing did."""

    class_flips: int = 0  # objects whose class differs from their previous frame's
    reappeared: int = 0  # objects back after missing for a few frames
    count_change: int = 0  # boxes now minus boxes in the previous frame

    def unstable(self, count_jump: int) -> bool:
        return bool(self.class_flips or self.reappeared) or (
            count_jump > 0 and abs(self.count_change) >= count_jump
        )


class StabilityWatch:
    """Follows one stream's detections frame by frame."""

    def __init__(self, memory: int = 5) -> None:
        self.memory = memory  # frames an object may be missing and still count as back
        self._frames: deque[Detections] = deque(maxlen=memory + 1)
        self._last_seen: dict[int, tuple[int, int]] = {}  # track id -> (frame index, class)
        self._index = 0

    def update(self, detections: Detections) -> Instability:
        self._index += 1
        if detections.track_ids is not None:
            change = self._by_track(detections)
        else:
            change = self._by_overlap(detections)
        previous = len(self._frames[-1]) if self._frames else len(detections)
        self._frames.append(detections)
        return Instability(change[0], change[1], len(detections) - previous)

    def reset(self) -> None:
        self._frames.clear()
        self._last_seen.clear()

    def _by_track(self, detections: Detections) -> tuple[int, int]:
        assert detections.track_ids is not None
        flips = back = 0
        for track, class_id in zip(
            detections.track_ids.tolist(), detections.class_ids.tolist(), strict=True
        ):
            seen = self._last_seen.get(track)
            if seen is not None:
                frame, previous_class = seen
                flips += previous_class != class_id
                back += 1 < self._index - frame <= self.memory + 1
            self._last_seen[track] = (self._index, class_id)
        horizon = self._index - self.memory - 1
        for gone in [t for t, (frame, _) in self._last_seen.items() if frame < horizon]:
            del self._last_seen[gone]
        return flips, back

    def _by_overlap(self, detections: Detections) -> tuple[int, int]:
        if not self._frames or not len(detections):
            return 0, 0
        boxes = detections.xyxy.astype(np.float64)
        previous = self._frames[-1]
        matched = _best_match(boxes, previous)
        flips = int(
            sum(
                match >= 0 and previous.class_ids[match] != class_id
                for match, class_id in zip(matched, detections.class_ids, strict=True)
            )
        )
        back = 0
        for box, match in zip(boxes, matched, strict=True):
            if match >= 0:
                continue
            earlier = list(self._frames)[:-1]
            back += any(_best_match(box[None], frame)[0] >= 0 for frame in earlier)
        return flips, back


def _best_match(boxes: NDArray[np.float64], other: Detections) -> NDArray[np.int64]:
    """For each box, the index of the box of ``other`` it overlaps most (-1: none enough)."""
    if not len(other):
        return np.full(len(boxes), -1, np.int64)
    overlaps = iou_matrix(boxes, other.xyxy.astype(np.float64))
    best = overlaps.argmax(axis=1)
    return np.where(overlaps.max(axis=1) >= MATCH_IOU, best, -1).astype(np.int64)
