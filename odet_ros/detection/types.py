"""The detection result every backend returns and every consumer (node, bag, eval) reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detections:
    """Boxes of one image, in that image's pixels, as parallel arrays (no per-box objects).

    ``xyxy`` is (N, 4) float32, ``scores`` (N,) float32, ``class_ids`` (N,) int64 and
    ``track_ids`` (N,) int64 when a tracker assigned them, else None.
    """

    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    track_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.scores)
        if self.xyxy.shape != (n, 4) or self.class_ids.shape != (n,):
            raise ValueError(
                f"Detections arrays disagree: xyxy {self.xyxy.shape}, scores {self.scores.shape},"
                f" class_ids {self.class_ids.shape}"
            )
        if self.track_ids is not None and self.track_ids.shape != (n,):
            raise ValueError(f"track_ids shape {self.track_ids.shape} does not match {n} boxes")

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            scores=np.zeros(0, np.float32),
            class_ids=np.zeros(0, np.int64),
        )

    @classmethod
    def from_arrays(
        cls,
        xyxy: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        track_ids: np.ndarray | None = None,
    ) -> Detections:
        """Build with the canonical dtypes, whatever the backend produced."""
        return cls(
            xyxy=np.asarray(xyxy, np.float32).reshape(-1, 4),
            scores=np.asarray(scores, np.float32).reshape(-1),
            class_ids=np.asarray(class_ids, np.int64).reshape(-1),
            track_ids=None if track_ids is None else np.asarray(track_ids, np.int64).reshape(-1),
        )

    def select(self, keep: np.ndarray) -> Detections:
        """The subset given by a boolean mask or index array."""
        return Detections(
            xyxy=self.xyxy[keep],
            scores=self.scores[keep],
            class_ids=self.class_ids[keep],
            track_ids=None if self.track_ids is None else self.track_ids[keep],
        )
