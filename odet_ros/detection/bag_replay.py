"""`odet detect` over a bag: the detector node's per-frame path run on recorded images.

Frames go through :class:`odet_ros.runtime.FrameDetector`, exactly as in the live node, and the
results are written as a new mcap bag (``detections``, ``label_info`` and optionally
``image_annotated``, each stamped like the image it came from) that `ros2 bag play` replays next
to the source bag for rviz, and that Foxglove opens.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from odet_ros.atomic import staged_folder
from odet_ros.bags import BagTopic, BagWriter, make_typestore, open_bags
from odet_ros.detection.detector import Detector
from odet_ros.detection.outputs import AnnotatedImages, AnnotatedVideo, DetectionsWriter
from odet_ros.errors import OdetError
from odet_ros.imaging import ImageConversionError, to_numpy
from odet_ros.messages import VisionMsgClasses, label_info_msg, stamp_to_ns
from odet_ros.messages.vision import ClassIdFormat
from odet_ros.runtime import FrameDetector

log = logging.getLogger(__name__)

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
OUTPUT_BAG = "detections_bag"
DETECTIONS_TOPIC = "/detections"
LABEL_INFO_TOPIC = "/label_info"
ANNOTATED_TOPIC = "/image_annotated"
ANNOTATED_CHOICES = ("topic", "images", "video")


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay produced."""

    bag: Path
    topic: str
    frames: int
    detections: int
    skipped: int


def image_topic(topics: dict[str, BagTopic], bag: Path, requested: str | None) -> str:
    """The image topic to run on: the one requested, or the bag's only (raw first) image topic."""
    images = sorted(name for name, topic in topics.items() if topic.msgtype in IMAGE_TYPES)
    if requested is not None:
        if requested not in images:
            raise OdetError(
                f"{bag}: no image topic {requested!r}; image topics: {', '.join(images) or 'none'}"
            )
        return requested
    raw = [name for name in images if topics[name].msgtype == IMAGE_TYPES[0]]
    if len(raw) == 1 or len(images) == 1:
        return (raw or images)[0]
    raise OdetError(
        f"{bag}: {'several' if images else 'no'} image topics"
        f"{': ' + ', '.join(images) if images else ''}; choose one with --topic"
    )


def replay_bag(
    detector: Detector,
    bag: Path,
    out: Path,
    *,
    topic: str | None = None,
    annotated: str | None = None,
    class_id_format: ClassIdFormat = "index",
    progress: bool = True,
) -> ReplaySummary:
    """Detect on every frame of ``topic`` and write ``out/detections_bag`` and
    ``out/detections.jsonl`` (frames keyed by their header stamp in ns).

    The bag is written into a hidden staging folder and moved into place once complete; a frame
    that cannot be decoded is skipped with a warning.
    """
    if annotated not in (None, *ANNOTATED_CHOICES):
        raise OdetError(f"--annotated must be one of {', '.join(ANNOTATED_CHOICES)}")
    typestore = make_typestore("humble")
    vision = VisionMsgClasses.from_typestore(typestore)
    frames = FrameDetector(
        detector, vision, typestore.types["sensor_msgs/msg/Image"], class_id_format
    )
    with open_bags(bag, typestore) as reader:
        topics = reader.topics
        chosen = image_topic(topics, bag, topic)
        messages = reader.messages([chosen])
        out.mkdir(parents=True, exist_ok=True)
        count = boxes = skipped = 0
        with contextlib.ExitStack() as outputs:
            staged = outputs.enter_context(
                staged_folder(out / OUTPUT_BAG, replace=True, named=True)
            )
            writer = outputs.enter_context(BagWriter(staged))
            writer.add_topic(DETECTIONS_TOPIC, "vision_msgs/msg/Detection2DArray")
            writer.add_topic(LABEL_INFO_TOPIC, "vision_msgs/msg/LabelInfo")
            if annotated == "topic":
                writer.add_topic(ANNOTATED_TOPIC, "sensor_msgs/msg/Image")
            jsonl = outputs.enter_context(DetectionsWriter(out, detector.names))
            sink: _StampedImages | _StampedVideo | None = None
            if annotated == "images":
                sink = outputs.enter_context(_StampedImages(out))
            elif annotated == "video":
                sink = outputs.enter_context(_StampedVideo(out))
            total = topics[chosen].count
            for message in tqdm(messages, total=total, unit="frame", disable=not progress):
                try:
                    result = frames.process(message.msg, annotate=annotated is not None)
                except ImageConversionError as error:
                    skipped += 1
                    log.warning("%s: frame at %d skipped: %s", bag, message.timestamp, error)
                    continue
                if count == 0:
                    label_info = label_info_msg(
                        detector.names, message.msg.header, vision, detector.settings.conf
                    )
                    writer.write(LABEL_INFO_TOPIC, message.timestamp, label_info)
                writer.write(DETECTIONS_TOPIC, message.timestamp, result.message)
                stamp = stamp_to_ns(message.msg.header.stamp)
                jsonl.write(stamp, result.detections)
                if annotated == "topic":
                    writer.write(ANNOTATED_TOPIC, message.timestamp, result.annotated)
                elif sink is not None and result.annotated is not None:
                    sink.write(stamp, to_numpy(result.annotated, "bgr8"))
                count += 1
                boxes += len(result.detections)
            if count == 0:
                raise OdetError(f"{bag}: no decodable frame on {chosen}")
    return ReplaySummary(out / OUTPUT_BAG, chosen, count, boxes, skipped)


class _StampedImages(AnnotatedImages):
    """Annotated frames as ``<stamp_ns>.jpg``."""

    def write(self, key: str | int, image: np.ndarray) -> None:
        super().write(f"{key}.jpg", image)


class _StampedVideo(AnnotatedVideo):
    """An MP4 whose frame rate is the camera's, taken from the first two stamps."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, fps=0.0)
        self._first: tuple[int, np.ndarray] | None = None

    def write(self, key: str | int, image: np.ndarray) -> None:
        if self._first is None and self._writer is None:
            self._first = (int(key), image)
            return
        if self._first is not None:
            first_stamp, first_image = self._first
            self._first = None
            period_s = (int(key) - first_stamp) / 1e9
            self._fps = 1.0 / period_s if period_s > 0 else self._fps
            super().write(first_stamp, first_image)
        super().write(key, image)

    def release(self) -> None:
        if self._first is not None:  # a single frame: write it at the default rate
            super().write(*self._first)
            self._first = None
        super().release()
