"""Letterbox preprocessing exactly as Ultralytics does it, and the way back to source pixels.

Ultralytics resizes with the aspect ratio kept (each side rounded, at least 1 pixel), pads the rest
with grey 114 split evenly (``round(d/2 - 0.1)`` on the top/left side), swaps BGR to RGB and scales
to 0-1. A static export always gets its fixed input size; a ``.pt`` gets the smallest
stride-aligned rectangle (Ultralytics' ``rect`` inference). Matching this bit for bit is what lets
our backends reproduce Ultralytics' own predictions.

TensorFlow's detectors (SSD, EfficientDet-Lite: the TFLite detection post-process family) are
trained on images stretched to the input, without bands, and take pixels as uint8 (quantised
models) or scaled to -1..1 (float ones): ``resize="stretch"``, ``pixel_range=(-1, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114
_SCALE = np.float32(1.0 / 255.0)
LETTERBOX = "letterbox"  # aspect ratio kept, grey bands (YOLO)
STRETCH = "stretch"  # resized to the input whatever the aspect ratio (TensorFlow's detectors)
RESIZE_MODES = (LETTERBOX, STRETCH)

# Colour orders a caller may declare, and the cv2 conversion to three channels in the same order
# (None: nothing to convert; rgb8 only skips the channel swap)
_TO_THREE_CHANNELS: dict[str, int | None] = {
    "bgr8": None,
    "rgb8": None,
    "mono8": cv2.COLOR_GRAY2BGR,
    "bgra8": cv2.COLOR_BGRA2BGR,
    "rgba8": cv2.COLOR_RGBA2RGB,
}
COLOR_ORDERS = tuple(_TO_THREE_CHANNELS)


@dataclass(frozen=True)
class LetterboxGeometry:
    """Where a source image lands in the network input: scale per axis and top-left padding."""

    source_hw: tuple[int, int]
    input_hw: tuple[int, int]
    resized_hw: tuple[int, int]
    top: int
    left: int

    @classmethod
    def fit(
        cls, source_hw: tuple[int, int], target_hw: tuple[int, int], stride: int | None = None
    ) -> LetterboxGeometry:
        """Letterbox ``source_hw`` into ``target_hw``; with ``stride``, shrink the target to the
        smallest stride-aligned rectangle that holds the resized image (Ultralytics ``auto``)."""
        h, w = source_hw
        if h < 1 or w < 1:
            raise ValueError(f"cannot letterbox an empty image of {w}x{h}")
        r = min(target_hw[0] / h, target_hw[1] / w)
        new_h, new_w = max(round(h * r), 1), max(round(w * r), 1)
        pad_h, pad_w = target_hw[0] - new_h, target_hw[1] - new_w
        if stride:
            pad_h, pad_w = pad_h % stride, pad_w % stride
        top, left = round(pad_h / 2 - 0.1), round(pad_w / 2 - 0.1)
        return cls((h, w), (new_h + pad_h, new_w + pad_w), (new_h, new_w), top, left)

    @classmethod
    def stretch(cls, source_hw: tuple[int, int], target_hw: tuple[int, int]) -> LetterboxGeometry:
        """``source_hw`` resized to fill ``target_hw``: each axis its own scale, no bands."""
        h, w = source_hw
        if h < 1 or w < 1:
            raise ValueError(f"cannot resize an empty image of {w}x{h}")
        target = (int(target_hw[0]), int(target_hw[1]))
        return cls((h, w), target, target, 0, 0)

    def to_source(self, xyxy: np.ndarray) -> np.ndarray:
        """Map (N, 4) boxes from input pixels to source pixels, clipped to the source image."""
        gain_y = self.resized_hw[0] / self.source_hw[0]
        gain_x = self.resized_hw[1] / self.source_hw[1]
        offset = np.array([self.left, self.top, self.left, self.top], np.float32)
        scale = np.array([gain_x, gain_y, gain_x, gain_y], np.float32)
        boxes = (np.asarray(xyxy, np.float32) - offset) / scale
        h, w = self.source_hw
        np.clip(boxes, 0, np.array([w, h, w, h], np.float32), out=boxes)
        return boxes


class Letterboxer:
    """Turns images into network input tensors, reusing its buffers from frame to frame.

    One resize into a preallocated buffer, then one numpy pass that swaps channels, scales and
    lays out (NCHW or NHWC) straight into the image's place in the input tensor. The grey
    padding is written only when the source size changes, which for a camera is never.

    A float tensor maps pixels 0-255 linearly onto ``pixel_range``; an integer one (uint8
    input of a quantised TensorFlow detector) takes the pixels as they are.
    """

    def __init__(
        self,
        input_hw: tuple[int, int],
        *,
        layout: str = "nchw",
        dtype: np.dtype | type = np.float32,
        stride: int | None = None,
        resize: str = LETTERBOX,
        pixel_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        if layout not in ("nchw", "nhwc"):
            raise ValueError(f"input layout must be nchw or nhwc, not {layout!r}")
        if resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES}, not {resize!r}")
        self.input_hw = (int(input_hw[0]), int(input_hw[1]))
        self.layout = layout
        self.dtype = np.dtype(dtype)
        self.stride = stride
        self.resize = resize
        low, high = pixel_range
        self._pixels = self.dtype.kind in "iu"  # integer input: pixels unchanged
        self._scale = np.float32((high - low) / 255.0) if (low, high) != (0.0, 1.0) else _SCALE
        self._offset = np.float32(low)
        self._geometry: LetterboxGeometry | None = None
        self._resized = np.empty((0, 0, 3), np.uint8)
        self._tensor = np.empty((0,), self.dtype)

    def __call__(
        self, image: np.ndarray, color: str = "bgr8"
    ) -> tuple[np.ndarray, LetterboxGeometry]:
        """Return the input tensor (valid until the next call) and the geometry to map back."""
        image = _as_three_channels(image, color)
        geometry = self._prepare(image.shape[:2])
        (new_h, new_w), top, left = geometry.resized_hw, geometry.top, geometry.left
        if image.shape[:2] != (new_h, new_w):
            image = cv2.resize(
                image, (new_w, new_h), dst=self._resized, interpolation=cv2.INTER_LINEAR
            )
        rgb = image if color.startswith("rgb") else image[..., ::-1]
        if self.layout == "nchw":
            target = self._tensor[0, :, top : top + new_h, left : left + new_w]
            rgb = rgb.transpose(2, 0, 1)
        else:
            target = self._tensor[0, top : top + new_h, left : left + new_w]
        if self._pixels:
            np.copyto(target, rgb)
        else:
            np.multiply(rgb, self._scale, out=target, casting="unsafe")
            if self._offset:
                target += self._offset
        return self._tensor, geometry

    def geometry(self, source_hw: tuple[int, int]) -> LetterboxGeometry:
        """Where an image of ``source_hw`` lands in the input."""
        if self.resize == STRETCH:
            return LetterboxGeometry.stretch(source_hw, self.input_hw)
        return LetterboxGeometry.fit(source_hw, self.input_hw, self.stride)

    def _prepare(self, source_hw: tuple[int, int]) -> LetterboxGeometry:
        geometry = self._geometry
        if geometry is None or geometry.source_hw != source_hw:
            geometry = self.geometry(source_hw)
            h, w = geometry.input_hw
            shape = (1, h, w, 3) if self.layout == "nhwc" else (1, 3, h, w)
            if self._tensor.shape != shape:
                self._tensor = np.empty(shape, self.dtype)
            pad = PAD_VALUE if self._pixels else np.float32(PAD_VALUE) * self._scale + self._offset
            self._tensor.fill(pad)
            self._resized = np.empty((*geometry.resized_hw, 3), np.uint8)
            self._geometry = geometry
        return geometry


def _as_three_channels(image: np.ndarray, color: str) -> np.ndarray:
    if color not in _TO_THREE_CHANNELS:
        raise ValueError(f"unsupported colour order {color!r}; expected one of {COLOR_ORDERS}")
    channels = 1 if image.ndim == 2 else image.shape[2]
    expected = 1 if color == "mono8" else 4 if color.endswith("a8") else 3
    if image.dtype != np.uint8 or channels != expected:
        raise ValueError(
            f"a {color} image must be uint8 with {expected} channel(s), got {image.dtype}"
            f" with shape {image.shape}"
        )
    conversion = _TO_THREE_CHANNELS[color]
    return image if conversion is None else cv2.cvtColor(image, conversion)
