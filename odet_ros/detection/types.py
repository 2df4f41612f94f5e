"""The detection result every backend returns and every consumer (node, bag, eval) reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from odet_ros.detection.instance_masks import InstanceMasks


@dataclass(frozen=True)
class Detections:
    """Boxes of one image, in that image's pixels, as parallel arrays (no per-box objects).

    ``xyxy`` is (N, 4) float32, ``scores`` (N,) float32, ``class_ids`` (N,) int64 and
    ``track_ids`` (N,) int64 when a tracker assigned them, else None. ``runner_up_ids`` and
    ``runner_up_scores`` are each box's second-best class and its score where the model's
    output has every class's score (raw YOLO heads with two classes or more), else None: how
    far the best class is ahead tells a model torn between two classes. ``masks`` holds each
    box's pixels where a segmentation model made them (and was asked to), else None.
    """

    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    track_ids: np.ndarray | None = None
    runner_up_ids: np.ndarray | None = None
    runner_up_scores: np.ndarray | None = None
    masks: InstanceMasks | None = None

    def __post_init__(self) -> None:
        n = len(self.scores)
        if self.xyxy.shape != (n, 4) or self.class_ids.shape != (n,):
            raise ValueError(
                f"Detections arrays disagree: xyxy {self.xyxy.shape}, scores {self.scores.shape},"
                f" class_ids {self.class_ids.shape}"
            )
        if self.track_ids is not None and self.track_ids.shape != (n,):
            raise ValueError(f"track_ids shape {self.track_ids.shape} does not match {n} boxes")
        runner_up = (self.runner_up_ids, self.runner_up_scores)
        if any(a is None for a in runner_up) != all(a is None for a in runner_up) or any(
            a is not None and a.shape != (n,) for a in runner_up
        ):
            raise ValueError(f"runner_up_ids and runner_up_scores must both be ({n},) or None")
        if self.masks is not None and len(self.masks) != n:
            raise ValueError(f"{len(self.masks)} masks do not match {n} boxes")

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
        runner_up: tuple[np.ndarray, np.ndarray] | None = None,
        *,
        masks: InstanceMasks | None = None,
    ) -> Detections:
        """Build with the canonical dtypes, whatever the backend produced; ``runner_up`` is
        (second-best class ids, their scores)."""
        ids, second = (None, None) if runner_up is None else _runner_up_arrays(*runner_up)
        return cls(
            xyxy=np.asarray(xyxy, np.float32).reshape(-1, 4),
            scores=np.asarray(scores, np.float32).reshape(-1),
            class_ids=np.asarray(class_ids, np.int64).reshape(-1),
            track_ids=None if track_ids is None else np.asarray(track_ids, np.int64).reshape(-1),
            runner_up_ids=ids,
            runner_up_scores=second,
            masks=masks,
        )

    @property
    def runner_up(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(second-best class ids, their scores), or None where the model does not say."""
        if self.runner_up_ids is None or self.runner_up_scores is None:
            return None
        return self.runner_up_ids, self.runner_up_scores

    def select(self, keep: np.ndarray) -> Detections:
        """The subset given by a boolean mask or index array."""
        return Detections(
            xyxy=self.xyxy[keep],
            scores=self.scores[keep],
            class_ids=self.class_ids[keep],
            track_ids=None if self.track_ids is None else self.track_ids[keep],
            runner_up_ids=None if self.runner_up_ids is None else self.runner_up_ids[keep],
            runner_up_scores=None if self.runner_up_scores is None else self.runner_up_scores[keep],
            masks=None if self.masks is None else self.masks.select(keep),
        )


def _runner_up_arrays(class_ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.asarray(class_ids, np.int64).reshape(-1),
        np.asarray(scores, np.float32).reshape(-1),
    )
