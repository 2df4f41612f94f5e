"""One image message in, vision_msgs out: the detector node's per-frame work, without ROS.

The live node and `odet detect` over a bag both run frames through :class:`FrameDetector`, so
image decoding, inference, tracking and message building are the same code in both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from odet_ros.detection.detector import Detector
from odet_ros.detection.drawing import draw_detections
from odet_ros.detection.letterbox import COLOR_ORDERS
from odet_ros.detection.types import Detections
from odet_ros.imaging import image_to_numpy, numpy_to_image, to_numpy
from odet_ros.interfaces.protocols import (
    CompressedImageMessage,
    ImageMessage,
    MessageClass,
    is_compressed,
)
from odet_ros.messages import VisionMsgClasses, detections_to_msg
from odet_ros.messages.vision import ClassIdFormat
from odet_ros.tracking import Tracker

FALLBACK_COLOR = "bgr8"  # what a JPEG decodes to: no conversion after the decode
DRAWN_COLORS = ("bgr8", "rgb8")  # annotated images keep these encodings, others become bgr8


def use_masks(detector: Detector, wanted: bool) -> None:
    """Turn a segmentation model's masks on or off (no change for a detector, or when the
    setting already says so): off, its frames cost what a detector's do."""
    if detector.segments and detector.settings.masks != wanted:
        detector.settings = replace(detector.settings, masks=wanted)


def frame_pixels(msg: ImageMessage | CompressedImageMessage) -> tuple[np.ndarray, str]:
    """A frame as the letterboxer takes it, with as few conversions as possible: an Image in a
    colour order the letterboxer reads (bgr8, rgb8, mono8, bgra8, rgba8) as a view of its data,
    whose channel swap happens inside the letterbox; anything else converted once, to bgr8."""
    if not is_compressed(msg) and msg.encoding in COLOR_ORDERS:
        return image_to_numpy(msg), msg.encoding
    return to_numpy(msg, color=FALLBACK_COLOR), FALLBACK_COLOR


@dataclass(frozen=True)
class FrameResult:
    """What one frame produced; ``annotated`` is None unless it was asked for."""

    detections: Detections
    message: Any  # a Detection2DArray of the VisionMsgClasses given
    annotated: ImageMessage | None
    source_hw: tuple[int, int]  # the decoded frame's (height, width)


class FrameDetector:
    """Runs a detector (and optionally a tracker) on image messages and builds the outputs.

    ``image_type`` is the Image class for annotated output (rclpy's or rosbags'). Not
    thread-safe: one caller at a time.
    """

    def __init__(
        self,
        detector: Detector,
        vision: VisionMsgClasses,
        image_type: MessageClass,
        class_id_format: ClassIdFormat = "index",
        tracker: Tracker | None = None,
    ) -> None:
        self.detector = detector
        self.vision = vision
        self.image_type = image_type
        self.class_id_format = class_id_format
        self.tracker = tracker

    def process(
        self, msg: ImageMessage | CompressedImageMessage, annotate: bool = False
    ) -> FrameResult:
        """Detect in a sensor_msgs Image or CompressedImage; raises ImageConversionError on a
        frame that cannot be decoded."""
        image, color = frame_pixels(msg)
        return self.finish(msg, image, color, self.detector.detect(image, color=color), annotate)

    def finish(
        self,
        msg: ImageMessage | CompressedImageMessage,
        image: np.ndarray,
        color: str,
        detections: Detections,
        annotate: bool = False,
    ) -> FrameResult:
        """The outputs of a frame whose detections are known (a frame of a batch): tracking,
        the message, the drawing. ``image`` and ``color`` are what :func:`frame_pixels` gave."""
        if self.tracker is not None:
            detections = self.tracker.update(detections)
        message = detections_to_msg(
            detections, self.detector.names, msg.header, self.vision, self.class_id_format
        )
        annotated = None
        if annotate:
            if color not in DRAWN_COLORS:
                image, color = to_numpy(msg, color=FALLBACK_COLOR), FALLBACK_COLOR
            drawn = draw_detections(image, detections, self.detector.names, rgb=color == "rgb8")
            annotated = numpy_to_image(drawn, color, msg.header, self.image_type)
        return FrameResult(detections, message, annotated, image.shape[:2])
