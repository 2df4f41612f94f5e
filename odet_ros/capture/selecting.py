"""Capture driven by the deployed model: capture_node's ``select`` mode, without ROS.

The detector node already runs the model on the camera and publishes each frame's boxes with
the frame's own header, so capture pairs the two by stamp (exactly: the detector copies the
stamp) instead of running the model a second time on a Jetson that has no time for it. Frames
the detector skipped (it answers the newest frame only) never pair and leave the buffer as it
rotates. Each paired frame goes to a :class:`~odet_ros.selection.FrameSelector`, configured as
`odet bag select` configures it (:mod:`odet_ros.selection.configure`); the kept ones are stored
by the :class:`CaptureRecorder` with their selection record.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, TypeVar

from odet_ros.capture.recorder import CaptureRecorder
from odet_ros.detection.types import Detections
from odet_ros.errors import OdetError
from odet_ros.imaging import to_numpy
from odet_ros.interfaces.header import stamp_to_ns
from odet_ros.interfaces.topics import outputs_beside
from odet_ros.selection import SelectionRecord
from odet_ros.selection.configure import ConfiguredSelection

if TYPE_CHECKING:
    from odet_ros.interfaces.protocols import CompressedImageMessage, ImageMessage

T = TypeVar("T")
PAIRING_CAPACITY = 60  # frames (and detection sets) waiting for their other half, per side


class SelectingCapture:
    """One camera's frames, paired with the detector's boxes and chosen by the model."""

    def __init__(
        self,
        recorder: CaptureRecorder,
        topic: str,
        selection: ConfiguredSelection,
    ) -> None:
        if topic not in recorder.cameras:
            raise OdetError(f"select: {topic} is not one of the captured image topics")
        self.recorder = recorder
        self.topic = topic
        self.model_name, self.model_version = selection.model  # for the records
        self.selector = selection.selector()
        self.names: list[str] = []  # the model's classes, from its LabelInfo
        self.unpaired = 0  # frames that left the buffer without the detector's answer
        self._images: OrderedDict[int, tuple[ImageMessage | CompressedImageMessage, int]] = (
            OrderedDict()
        )
        self._detections: OrderedDict[int, Detections] = OrderedDict()
        self._lock = threading.Lock()

    def on_image(self, msg: ImageMessage | CompressedImageMessage, receive_ns: int) -> None:
        stamp_ns = stamp_to_ns(msg.header.stamp) or receive_ns
        with self._lock:
            detections = self._detections.pop(stamp_ns, None)
            if detections is None:
                self.unpaired += _bounded_put(self._images, stamp_ns, (msg, receive_ns))
                return
        self._judge(stamp_ns, msg, receive_ns, detections)

    def on_detections(self, stamp_ns: int, detections: Detections) -> None:
        with self._lock:
            image = self._images.pop(stamp_ns, None)
            if image is None:
                _bounded_put(self._detections, stamp_ns, detections)
                return
        self._judge(stamp_ns, image[0], image[1], detections)

    def _judge(
        self,
        stamp_ns: int,
        msg: ImageMessage | CompressedImageMessage,
        receive_ns: int,
        detections: Detections,
    ) -> None:
        if not self.recorder.recording:
            return
        detections = detections.select(detections.class_ids >= 0)  # names the model lacks
        bgr8 = functools.cache(lambda: to_numpy(msg, "bgr8"))
        try:
            selection = self.selector.offer(stamp_ns, detections, bgr8)
        except OdetError as error:
            self.recorder.reject(self.topic, error)
            return
        if not selection.keep:
            return
        height, width = bgr8().shape[:2]
        names = self._names(detections)
        record = SelectionRecord(
            self.topic, stamp_ns, selection.reasons, self.model_name, names, width, height,
            detections, self.model_version,
        )  # fmt: skip
        self.recorder.keep(self.topic, msg, receive_ns, record, bgr8)

    def _names(self, detections: Detections) -> list[str]:
        """The model's class names, extended to cover every id it sent (before its LabelInfo
        arrived, ids stand for themselves)."""
        names = list(self.names)
        highest = int(detections.class_ids.max()) if len(detections) else -1
        names += [str(i) for i in range(len(names), highest + 1)]
        return names

    def summary(self) -> str:
        """The selection's part of the periodic log line."""
        counts = self.selector.counts
        kept = ", ".join(f"{reason} {n}" for reason, n in counts.by_reason.items())
        return f"selected {counts.kept} of {counts.seen} paired frames ({kept})"

    def values(self) -> dict[str, str]:
        """The selection's figures for /diagnostics."""
        counts = self.selector.counts
        values = {
            "select_seen": counts.seen,
            "select_kept": counts.kept,
            "kept_new_conditions": counts.kept_new,
            "select_usual": self.selector.profile_source,
            **{f"kept_{reason}": n for reason, n in counts.by_reason.items()},
            **{f"refused_{why}": n for why, n in counts.refused.items()},
            "unpaired": self.unpaired,
        }
        return {key: str(value) for key, value in values.items()}


def _bounded_put(buffer: OrderedDict[int, T], stamp_ns: int, item: T) -> int:
    """Add an item, dropping the oldest when full; returns how many were dropped."""
    buffer[stamp_ns] = item
    dropped = 0
    while len(buffer) > PAIRING_CAPACITY:
        buffer.popitem(last=False)
        dropped += 1
    return dropped


class SelectingCameras:
    """Selection on every captured camera, each paired with its own detector output: one camera
    with ``detections_topic``, several with the ``detections`` beside each camera's images (where
    one detector serving them all publishes them). Each camera has its own selector (budget,
    views, calibration); the model's class names are shared."""

    def __init__(
        self, recorder: CaptureRecorder, selection: ConfiguredSelection, detections_topic: str
    ) -> None:
        topics = list(recorder.cameras)
        self.cameras = {topic: SelectingCapture(recorder, topic, selection) for topic in topics}
        if len(topics) == 1:
            self.detections = {topics[0]: detections_topic}
        else:
            self.detections = {t: outputs_beside(t) + "detections" for t in topics}

    @property
    def profile_source(self) -> str:
        return next(iter(self.cameras.values())).selector.profile_source

    def set_names(self, names: list[str]) -> None:
        for camera in self.cameras.values():
            camera.names = names

    def summary(self) -> str:
        return "; ".join(f"{topic}: {c.summary()}" for topic, c in self.cameras.items())

    def values(self) -> dict[str, dict[str, str]]:
        """Each camera's selection figures for /diagnostics."""
        return {topic: camera.values() for topic, camera in self.cameras.items()}
