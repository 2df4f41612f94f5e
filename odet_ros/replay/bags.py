"""`odet detect` over a bag: the detector node's per-frame path run on recorded images.

Frames go through :class:`odet_ros.runtime.FrameDetector`, exactly as in the live node, and the
results are written as a new mcap bag (``detections``, ``label_info``, ``detection_annotations``
for Foxglove's Image panel, ``instance_masks`` for a segmentation model and optionally
``image_annotated``, each stamped like the image it came from) that `ros2 bag play` replays
next to the source bag for rviz, and that Foxglove opens: the bag carries every message
definition, foxglove_msgs' included.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rosbags.typesys.store import Typestore
from tqdm import tqdm

from odet_ros.atomic import staged_folder
from odet_ros.bags import BagMessage, BagTopic, BagWriter, make_typestore, open_bags
from odet_ros.bags.cameras import camera_topic
from odet_ros.depth import DepthError, DepthOptions, Objects3D, OfflinePairer
from odet_ros.detection.detector import Detector
from odet_ros.errors import OdetError
from odet_ros.imaging import ImageConversionError, to_numpy
from odet_ros.interfaces import stamp_to_ns
from odet_ros.messages import VisionMsgClasses, label_info_msg
from odet_ros.messages.foxglove import ANNOTATIONS_TYPE, FoxgloveMsgClasses, image_annotations_msg
from odet_ros.messages.masks import instance_masks_msg
from odet_ros.messages.spatial import SpatialMsgClasses
from odet_ros.messages.vision import ClassIdFormat
from odet_ros.replay.outputs import AnnotatedImages, AnnotatedVideo, DetectionsWriter
from odet_ros.runtime.depth_step import DepthStep
from odet_ros.runtime.frame_detector import FrameDetector, FrameResult

log = logging.getLogger(__name__)

OUTPUT_BAG = "detections_bag"
DETECTIONS_TOPIC = "/detections"
DETECTIONS_3D_TOPIC = "/detections_3d"
MARKERS_TOPIC = "/detection_markers"
LABEL_INFO_TOPIC = "/label_info"
ANNOTATED_TOPIC = "/image_annotated"
ANNOTATIONS_TOPIC = "/detection_annotations"
MASKS_TOPIC = "/instance_masks"
ANNOTATED_CHOICES = ("topic", "images", "video")


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay produced."""

    bag: Path
    topic: str
    frames: int
    detections: int
    skipped: int
    located: int = 0  # detections with a 3D position (depth replays)
    without_depth: int = 0  # frames no depth frame could be paired with


def replay_bag(
    detector: Detector,
    bag: Path,
    out: Path,
    *,
    topic: str | None = None,
    annotated: str | None = None,
    class_id_format: ClassIdFormat = "index",
    depth: DepthOptions | None = None,
    progress: bool = True,
) -> ReplaySummary:
    """Detect on every frame of ``topic`` and write ``out/detections_bag`` and
    ``out/detections.jsonl`` (frames keyed by their header stamp in ns). With ``depth``, also
    the 3D detections and their markers, each frame paired with the depth frame nearest its
    stamp, as the live node pairs them.

    The bag is written into a hidden staging folder and moved into place once complete; a frame
    that cannot be decoded is skipped with a warning.
    """
    if annotated not in (None, *ANNOTATED_CHOICES):
        raise OdetError(f"--annotated must be one of {', '.join(ANNOTATED_CHOICES)}")
    typestore = make_typestore("humble")
    with open_bags(bag, typestore) as reader:
        topics = reader.topics
        chosen = camera_topic(topics, bag, topic)
        read = [chosen, *(depth_topics(depth, topics, bag, chosen) if depth else [])]
        out.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as outputs:
            staged = outputs.enter_context(
                staged_folder(out / OUTPUT_BAG, replace=True, named=True)
            )
            files = (
                outputs.enter_context(BagWriter(staged)),
                outputs.enter_context(DetectionsWriter(out, detector.names)),
                _annotated_sink(outputs, out, annotated),
            )
            replay = _Replay(
                detector,
                bag,
                typestore,
                files,
                annotated=annotated,
                class_id_format=class_id_format,
            )
            paired = _DepthFrames(replay, depth, typestore, chosen) if depth else None
            total = sum(topics[name].count for name in read)
            for message in tqdm(
                reader.messages(read), total=total, unit="msg", disable=not progress
            ):
                if paired is None:
                    replay.frame(message)
                else:
                    paired.take(message)
            if paired is not None:
                paired.finish()
            if replay.count == 0:
                raise OdetError(f"{bag}: no decodable frame on {chosen}")
    return ReplaySummary(
        out / OUTPUT_BAG, chosen, replay.count, replay.boxes, replay.skipped,
        replay.located, replay.without_depth,
    )  # fmt: skip


def _annotated_sink(
    outputs: contextlib.ExitStack, out: Path, annotated: str | None
) -> _StampedImages | _StampedVideo | None:
    if annotated == "images":
        return outputs.enter_context(_StampedImages(out))
    if annotated == "video":
        return outputs.enter_context(_StampedVideo(out))
    return None


def depth_topics(
    depth: DepthOptions, available: dict[str, BagTopic], bag: Path, image_topic: str
) -> list[str]:
    """The bag topics to read besides the images; the depth and colour CameraInfo topics must
    be there."""
    color_info, depth_info = depth.info_topics(image_topic)
    for needed in (depth.depth_topic, color_info):
        if needed not in available:
            raise OdetError(f"{bag}: no topic {needed!r} (3D needs depth and CameraInfo)")
    return [depth.depth_topic, color_info, *([depth_info] if depth_info in available else [])]


class _Replay:
    """The frames of one replay: 2D through FrameDetector, 3D through DepthStep, both written."""

    def __init__(
        self,
        detector: Detector,
        bag: Path,
        typestore: Typestore,
        outputs: tuple[BagWriter, DetectionsWriter, _StampedImages | _StampedVideo | None],
        *,
        annotated: str | None,
        class_id_format: ClassIdFormat,
    ) -> None:
        self.detector, self.bag = detector, bag
        self.writer, self.jsonl, self.sink = outputs
        self.annotated = annotated
        self.vision = VisionMsgClasses.from_typestore(typestore)
        self.frames = FrameDetector(
            detector, self.vision, typestore.types["sensor_msgs/msg/Image"], class_id_format
        )
        self.foxglove = FoxgloveMsgClasses.from_typestore(typestore)
        self.writer.add_topic(DETECTIONS_TOPIC, "vision_msgs/msg/Detection2DArray")
        self.writer.add_topic(LABEL_INFO_TOPIC, "vision_msgs/msg/LabelInfo")
        self.writer.add_topic(ANNOTATIONS_TOPIC, ANNOTATIONS_TYPE)
        if annotated == "topic":
            self.writer.add_topic(ANNOTATED_TOPIC, "sensor_msgs/msg/Image")
        if detector.segments:
            self.writer.add_topic(MASKS_TOPIC, "sensor_msgs/msg/Image")
        self.count = self.boxes = self.skipped = 0
        self.located = self.without_depth = 0

    def frame(
        self,
        message: BagMessage,
        step: _DepthFrames | None = None,
        depth: BagMessage | None = None,
    ) -> None:
        """Detect on one image (and locate it in ``depth`` with ``step``) and write it all."""
        try:
            result = self.frames.process(message.msg, annotate=self.annotated is not None)
        except ImageConversionError as error:
            self.skipped += 1
            log.warning("%s: frame at %d skipped: %s", self.bag, message.timestamp, error)
            return
        header = message.msg.header
        if self.count == 0:
            label_info = label_info_msg(
                self.detector.names, header, self.vision, self.detector.settings.conf
            )
            self.writer.write(LABEL_INFO_TOPIC, message.timestamp, label_info)
        self.writer.write(DETECTIONS_TOPIC, message.timestamp, result.message)
        annotations = image_annotations_msg(
            result.detections, self.detector.names, header, self.foxglove
        )
        self.writer.write(ANNOTATIONS_TOPIC, message.timestamp, annotations)
        if self.detector.segments:
            masks = instance_masks_msg(
                result.detections, result.source_hw, header, self.frames.image_type
            )
            self.writer.write(MASKS_TOPIC, message.timestamp, masks)
        objects = step.locate(message, result, depth) if step is not None else None
        stamp = stamp_to_ns(header.stamp)
        self.jsonl.write(stamp, result.detections, objects)
        if self.annotated == "topic":
            self.writer.write(ANNOTATED_TOPIC, message.timestamp, result.annotated)
        elif self.sink is not None and result.annotated is not None:
            self.sink.write(stamp, to_numpy(result.annotated, "bgr8"))
        self.count += 1
        self.boxes += len(result.detections)


class _DepthFrames:
    """The depth side of a replay: pairs the bag's depth frames with its images by stamp and
    runs the node's 3D step on each pair."""

    def __init__(self, replay: _Replay, depth: DepthOptions, typestore: Typestore, image: str):
        self.replay = replay
        self.depth = depth
        self.image_topic = image
        self.color_info, self.depth_info = depth.info_topics(image)
        self.step = DepthStep(SpatialMsgClasses.from_typestore(typestore), depth.settings)
        self.pairer: OfflinePairer[BagMessage, BagMessage] = OfflinePairer(
            int(depth.tolerance_s * 1e9)
        )
        replay.writer.add_topic(DETECTIONS_3D_TOPIC, "vision_msgs/msg/Detection3DArray")
        replay.writer.add_topic(MARKERS_TOPIC, "visualization_msgs/msg/MarkerArray")

    def take(self, message: BagMessage) -> None:
        """One message of the bag, in time order: images wait for their depth frame."""
        stamp = stamp_to_ns(message.msg.header.stamp)
        if message.topic == self.image_topic:
            ready = self.pairer.image(stamp, message)
        elif message.topic == self.depth.depth_topic:
            ready = self.pairer.depth(stamp, message)
        else:
            self._camera_info(message)
            return
        self._answer(ready)

    def finish(self) -> None:
        self._answer(self.pairer.finish())

    def _answer(self, ready: list[tuple[BagMessage, BagMessage | None]]) -> None:
        for image, depth in ready:
            self.replay.frame(image, self, depth)

    def _camera_info(self, message: BagMessage) -> None:
        setter = self.step.set_camera_info if message.topic == self.color_info else None
        if message.topic == self.depth_info:
            setter = self.step.set_depth_info
        if setter is None:
            return
        try:
            setter(message.msg)
        except DepthError as error:
            log.warning("%s: %s: %s", self.replay.bag, message.topic, error)

    def locate(
        self, message: BagMessage, result: FrameResult, depth: BagMessage | None
    ) -> Objects3D | None:
        replay = self.replay
        if depth is None:
            replay.without_depth += 1
            return None
        try:
            located = self.step.process(
                result.detections, replay.detector.names, message.msg.header, depth.msg,
                class_id_format=replay.frames.class_id_format,
            )  # fmt: skip
        except DepthError as error:
            replay.without_depth += 1
            log.warning("%s: no 3D for the frame at %d: %s", replay.bag, message.timestamp, error)
            return None
        warning = self.step.pop_warning()
        if warning:
            log.warning("%s: %s", replay.bag, warning)
        replay.writer.write(DETECTIONS_3D_TOPIC, message.timestamp, located.detections)
        replay.writer.write(MARKERS_TOPIC, message.timestamp, located.markers())
        replay.located += int(located.objects.located.sum())
        return located.objects


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
