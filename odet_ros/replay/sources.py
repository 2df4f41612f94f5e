"""Frames for offline detection (``odet detect``): an image, a folder of images, a video file.

Each source yields :class:`Frame` objects keyed the way ``detections.jsonl`` names them (the
image's file name, the video's frame index). :func:`open_frames` is the one place that decides
what a SOURCE argument is; a rosbag source plugs in there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from odet_ros.imaging.files import IMAGE_SUFFIXES
from odet_ros.replay.errors import SourceError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """One image to detect on, with the key it is recorded under."""

    key: str | int  # file name, or frame index in a video
    image: np.ndarray  # BGR uint8


class ImageFiles:
    """One image, or the images of a folder in name order; unreadable folder images are skipped."""

    kind = "images"

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self._paths = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._paths:
                raise SourceError(f"{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        else:
            self._paths = [path]
        self.total = len(self._paths)
        self.skipped = 0
        self.fps = 0.0

    def __iter__(self) -> Iterator[Frame]:
        for path in self._paths:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                if not self.path.is_dir():
                    raise SourceError(f"{path}: not a readable image")
                log.warning("skipping unreadable image %s", path)
                self.skipped += 1
                continue
            yield Frame(path.name, image)


class VideoFile:
    """The frames of a video file, keyed by index from 0."""

    kind = "video"

    def __init__(self, path: Path) -> None:
        self.path = path
        capture = cv2.VideoCapture(str(path))
        ok = capture.isOpened()
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if ok else 0
        self.fps = float(capture.get(cv2.CAP_PROP_FPS)) if ok else 0.0
        capture.release()
        if not ok:
            raise SourceError(f"{path}: not an image, an image folder or a readable video")
        self.total = count if count > 0 else None
        self.skipped = 0

    def __iter__(self) -> Iterator[Frame]:
        capture = cv2.VideoCapture(str(self.path))
        try:
            index = 0
            while True:
                ok, image = capture.read()
                if not ok:
                    return
                yield Frame(index, image)
                index += 1
        finally:
            capture.release()


FrameSource = ImageFiles | VideoFile


def open_frames(source: Path) -> FrameSource:
    """The frame source a path names: an image, an image folder or a video file."""
    if not source.exists():
        raise SourceError(f"{source}: no such file or folder")
    if source.is_dir() or source.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFiles(source)
    return VideoFile(source)
