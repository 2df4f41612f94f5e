"""Where offline detection writes: ``detections.jsonl`` and annotated images or video.

Every file is written under a temporary name and renamed when complete, so a folder never shows
half a result; after a failure the temporary file stays, with every frame done so far.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import cv2
import numpy as np

from odet_ros.atomic import partial_path
from odet_ros.depth.locate import Objects3D
from odet_ros.detection.types import Detections

DETECTIONS_FILE = "detections.jsonl"


def detection_record(
    key: str | int, detections: Detections, names: list[str], objects: Objects3D | None = None
) -> dict[str, Any]:
    """One ``detections.jsonl`` line: the frame key and its boxes in source pixels; with
    ``objects``, each located box's centre and size in metres (camera optical frame) and the
    depth confidence."""
    boxes = np.round(detections.xyxy.astype(np.float64), 2).tolist()
    scores = np.round(detections.scores.astype(np.float64), 4).tolist()
    ids = detections.class_ids.tolist()
    records: list[dict[str, Any]] = [
        {"xyxy": box, "score": score, "class_id": i, "class_name": names[i]}
        for box, score, i in zip(boxes, scores, ids, strict=True)
    ]
    if objects is not None:
        for row, record in enumerate(records):
            if objects.located[row]:
                record["position_m"] = np.round(objects.centers[row], 4).tolist()
                record["size_m"] = np.round(objects.sizes[row], 4).tolist()
                record["depth_confidence"] = round(float(objects.confidence[row]), 3)
    return {"frame": key, "detections": records}


_SinkT = TypeVar("_SinkT", bound="_Sink")


class _Sink:
    """Context manager base: ``finish`` runs on success, ``release`` always."""

    def __enter__(self: _SinkT) -> _SinkT:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
        if kind is None:
            self.finish()

    def release(self) -> None:
        """Close open files, keeping what was written."""

    def finish(self) -> None:
        """Move the complete result to its final name."""


class DetectionsWriter(_Sink):
    """``DIR/detections.jsonl``, one JSON line per frame, renamed into place on success."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.path = folder / DETECTIONS_FILE
        self._partial = partial_path(self.path)
        self._names = names
        self._stream = self._partial.open("w", encoding="utf-8")

    def write(
        self, key: str | int, detections: Detections, objects: Objects3D | None = None
    ) -> None:
        record = detection_record(key, detections, self._names, objects)
        self._stream.write(json.dumps(record) + "\n")

    def release(self) -> None:
        self._stream.close()

    def finish(self) -> None:
        self._partial.replace(self.path)


class AnnotatedImages(_Sink):
    """``DIR/annotated/<image name>`` for image sources, each written then renamed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "annotated"
        self.folder.mkdir(parents=True, exist_ok=True)

    def write(self, key: str | int, image: np.ndarray) -> None:
        path = self.folder / (key if isinstance(key, str) else f"{key:06d}.jpg")
        partial = path.with_name(f"{path.stem}.partial{path.suffix}")  # keep the codec's suffix
        if not cv2.imwrite(str(partial), image):
            raise OSError(f"cannot write {partial}")
        partial.replace(path)


class AnnotatedVideo(_Sink):
    """``DIR/annotated.mp4`` for video sources, renamed into place when complete."""

    def __init__(self, folder: Path, fps: float) -> None:
        self.path = folder / "annotated.mp4"
        self._partial = folder / "annotated.partial.mp4"  # the suffix picks the container
        self._fps = fps if fps > 0 else 30.0
        self._writer: cv2.VideoWriter | None = None

    def write(self, key: str | int, image: np.ndarray) -> None:
        if self._writer is None:
            h, w = image.shape[:2]
            fourcc = cv2.VideoWriter.fourcc(*"mp4v")
            self._writer = cv2.VideoWriter(str(self._partial), fourcc, self._fps, (w, h))
            if not self._writer.isOpened():
                raise OSError(f"cannot write {self._partial}: no mp4v encoder in this OpenCV")
        self._writer.write(image)

    def release(self) -> None:
        if self._writer is not None:
            self._writer.release()

    def finish(self) -> None:
        if self._writer is not None:
            self._partial.replace(self.path)
