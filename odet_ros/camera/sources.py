"""Frame sources for the camera node: a V4L2 device, a video file, a stream URL, an image folder.

``open_source`` turns the `source` parameter into an open source or raises an OdetError that
names it. Every source hands out BGR uint8 frames from ``read()``, which raises
``SourceDroppedError`` when the device or stream stops giving frames (the caller may reconnect) and
``SourceEndedError`` when a finite source (a file or folder without loop) has nothing left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from odet_ros.camera.errors import SourceDroppedError, SourceEndedError
from odet_ros.errors import OdetError
from odet_ros.imaging.files import IMAGE_SUFFIXES
from odet_ros.imaging.opencv import as_bgr, uint8_image

if TYPE_CHECKING:
    from cv2.typing import MatLike

log = logging.getLogger(__name__)


class SourceKind(str, Enum):
    DEVICE = "device"
    VIDEO_FILE = "video file"
    STREAM = "stream"
    IMAGE_FOLDER = "image folder"


@dataclass(frozen=True)
class SourceSpec:
    """What the `source` parameter names: a kind and a target (device index, path or URL)."""

    kind: SourceKind
    target: int | str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.target}"


@dataclass(frozen=True)
class SourceOptions:
    """How to read a source. A size or rate of 0 means the source's own."""

    loop: bool = False
    width: int = 0
    height: int = 0
    fps: float = 0.0


class FrameSource(Protocol):
    spec: SourceSpec

    def read(self) -> NDArray[np.uint8]: ...

    def close(self) -> None: ...


class VideoCaptureLike(Protocol):
    """The part of cv2.VideoCapture the sources use (the camera device boundary)."""

    def isOpened(self) -> bool: ...  # noqa: N802

    def read(self) -> tuple[bool, MatLike | None]: ...

    def set(self, prop: int, value: float) -> bool: ...

    def release(self) -> None: ...


CaptureFactory = Callable[[int | str], VideoCaptureLike]


def open_capture(target: int | str) -> VideoCaptureLike:
    """cv2.VideoCapture of a device index, a path or a URL (the default capture factory)."""
    return cv2.VideoCapture(target)


def parse_source(source: str) -> SourceSpec:
    """Classify the `source` parameter; a local path must exist."""
    text = source.strip()
    if not text:
        raise OdetError("camera source is empty: give a device index, a path or a URL")
    if text.isdigit():
        return SourceSpec(SourceKind.DEVICE, int(text))
    if text.startswith("file://"):
        text = text[len("file://") :]
    elif "://" in text:
        return SourceSpec(SourceKind.STREAM, text)
    path = Path(text).expanduser()
    if text.startswith("/dev/"):
        if not path.exists():
            raise OdetError(f"camera device {text} does not exist")
        return SourceSpec(SourceKind.DEVICE, str(path))
    if path.is_dir():
        return SourceSpec(SourceKind.IMAGE_FOLDER, str(path))
    if path.is_file():
        return SourceSpec(SourceKind.VIDEO_FILE, str(path))
    raise OdetError(f"camera source {source!r} is not a device index, an existing path or a URL")


def open_source(
    spec: SourceSpec,
    options: SourceOptions = SourceOptions(),
    capture_factory: CaptureFactory = open_capture,
) -> FrameSource:
    """Open the source, or raise an OdetError naming it."""
    if spec.kind is SourceKind.IMAGE_FOLDER:
        return ImageFolderSource(spec, options)
    return CaptureSource(spec, options, capture_factory)


def fit(frame: NDArray[np.uint8], width: int, height: int) -> NDArray[np.uint8]:
    """Resize a frame to the requested size where one is set (0 keeps that side's ratio)."""
    if not width and not height:
        return frame
    frame_height, frame_width = frame.shape[:2]
    width = width or round(frame_width * height / frame_height)
    height = height or round(frame_height * width / frame_width)
    if (width, height) == (frame_width, frame_height):
        return frame
    return uint8_image(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))


class CaptureSource:
    """A device, video file or stream read through cv2.VideoCapture."""

    def __init__(
        self,
        spec: SourceSpec,
        options: SourceOptions = SourceOptions(),
        capture_factory: CaptureFactory = open_capture,
    ) -> None:
        self.spec = spec
        self._options = options
        self._capture = capture_factory(spec.target)
        if not self._capture.isOpened():
            self._capture.release()
            raise OdetError(f"cannot open camera source {spec}")
        if spec.kind is SourceKind.DEVICE:
            self._request_format()

    def _request_format(self) -> None:
        """Ask the device for the configured size and rate (it may pick the nearest)."""
        requests = {
            cv2.CAP_PROP_FRAME_WIDTH: self._options.width,
            cv2.CAP_PROP_FRAME_HEIGHT: self._options.height,
            cv2.CAP_PROP_FPS: self._options.fps,
        }
        for prop, value in requests.items():
            if value:
                self._capture.set(prop, value)

    def read(self) -> NDArray[np.uint8]:
        ok, frame = self._capture.read()
        if not ok and self.spec.kind is SourceKind.VIDEO_FILE:
            if not self._options.loop:
                raise SourceEndedError(f"end of {self.spec}")
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        if not ok or frame is None:
            raise SourceDroppedError(f"no frame from {self.spec}")
        return fit(as_bgr(uint8_image(frame)), self._options.width, self._options.height)

    def close(self) -> None:
        self._capture.release()


class ImageFolderSource:
    """The images of a folder in name order; unreadable files are skipped with a warning."""

    def __init__(self, spec: SourceSpec, options: SourceOptions = SourceOptions()) -> None:
        self.spec = spec
        self._options = options
        folder = Path(str(spec.target))
        self._paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._paths:
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            raise OdetError(f"image folder {folder} holds no images ({suffixes})")
        self._next = 0

    def read(self) -> NDArray[np.uint8]:
        for _ in range(len(self._paths)):
            if self._next == len(self._paths):
                if not self._options.loop:
                    raise SourceEndedError(f"end of {self.spec}")
                self._next = 0
            path = self._paths[self._next]
            self._next += 1
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)  # 8-bit BGR whatever the file
            if frame is not None:
                return fit(uint8_image(frame), self._options.width, self._options.height)
            log.warning("skipping unreadable image %s", path)
        raise SourceDroppedError(f"no readable image in {self.spec}")

    def close(self) -> None:
        self._paths = []
        self._next = 0
