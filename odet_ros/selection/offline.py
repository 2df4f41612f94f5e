"""`odet bag select`: the capture node's selection over a recording, for teams that record
everything and choose later.

One pass, streaming: each frame of the camera topic is detected on (tracked, if asked) and
offered to a :class:`FrameSelector`; the kept frames go into a new bag with their camera's
latest CameraInfo and their selection record, as capture with ``select`` writes them, so the
same `odet bag export` turns either into a pre-labelled dataset. A total budget is spread over
the recording's length (its rate is the budget per minute of footage).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from odet_ros.atomic import staged_folder
from odet_ros.bags import BagMessage, BagReader, BagWriter, make_typestore, open_bags
from odet_ros.bags.cameras import camera_topic
from odet_ros.detection.detector import Detector
from odet_ros.imaging import ImageConversionError, to_numpy
from odet_ros.interfaces import stamp_to_ns
from odet_ros.interfaces.topics import camera_info_beside
from odet_ros.selection.configure import ConfiguredSelection
from odet_ros.selection.errors import SelectionError
from odet_ros.selection.records import SELECTION_TOPIC, SELECTION_TYPE, SelectionRecord
from odet_ros.selection.selector import FrameSelector
from odet_ros.tracking import Tracker

LOG = logging.getLogger(__name__)


@dataclass
class SelectReport:
    bag: Path  # the bag written
    topic: str
    frames: int = 0  # frames detected on
    kept: int = 0
    kept_new: int = 0  # of new conditions (a view or conditions unlike the training's)
    by_reason: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # frames that could not be decoded
    usual: str = ""  # what the selection measured "usual" against (FrameSelector.profile_source)


def select_bag(
    detector: Detector,
    bag: Path,
    out: Path,
    selection: ConfiguredSelection,
    *,
    topic: str | None = None,
    tracker: Tracker | None = None,
    progress: bool = False,
) -> SelectReport:
    """Write the frames of ``bag`` the model asks for into the bag ``out``, as ``selection``
    (:func:`odet_ros.selection.configure.configure_selection`) says."""
    typestore = make_typestore("humble")
    settings = selection.settings
    with open_bags(bag, typestore) as reader:
        topics = reader.topics
        chosen = camera_topic(topics, bag, topic)
        info_topic = camera_info_beside(chosen)
        read = [chosen, *([info_topic] if info_topic in topics else [])]
        if settings.total and not settings.per_minute:
            minutes = max(_duration_s(reader, chosen), 1.0) / 60
            settings = replace(settings, per_minute=settings.total / minutes)
        report = SelectReport(out, chosen)
        with (
            staged_folder(out, replace=True, named=True) as staged,
            BagWriter(staged) as writer,
        ):
            for name in read:
                writer.add_topic(name, topics[name].msgtype)
            writer.add_topic(SELECTION_TOPIC, SELECTION_TYPE)
            selecting = _Selecting(
                detector,
                FrameSelector(settings, selection.profile),
                tracker=tracker,
                writer=writer,
                report=report,
                model=selection.model,
            )
            messages = reader.messages(read)
            total = sum(topics[name].count for name in read)
            for message in tqdm(messages, total=total, unit="msg", disable=not progress):
                if message.topic == info_topic:
                    selecting.camera_info(message)
                elif selecting.frame(message, typestore.types[SELECTION_TYPE], info_topic):
                    break
            if report.frames == 0:
                raise SelectionError(f"{bag}: no decodable frame on {chosen}")
    counts = selecting.selector.counts
    report.kept, report.kept_new = counts.kept, counts.kept_new
    report.usual = selecting.selector.profile_source
    report.by_reason = {reason: n for reason, n in counts.by_reason.items() if n}
    report.refused = dict(counts.refused)
    return report


class _Selecting:
    """One selection run: detects on each frame and writes the kept ones."""

    def __init__(
        self,
        detector: Detector,
        selector: FrameSelector,
        *,
        tracker: Tracker | None,
        writer: BagWriter,
        report: SelectReport,
        model: tuple[str, str],
    ) -> None:
        self.detector = detector
        self.selector = selector
        self.tracker = tracker
        self.writer = writer
        self.report = report
        self.model_name, self.model_version = model
        self.latest_info: BagMessage | None = None
        self.info_owed = False  # a frame was kept before any CameraInfo came

    def camera_info(self, message: BagMessage) -> None:
        self.latest_info = message
        if self.info_owed:
            self.writer.write(message.topic, message.timestamp, message.raw)
            self.info_owed = False

    def frame(self, message: BagMessage, string: Any, info_topic: str) -> bool:
        """Judge one image message and write it if kept; True once the budget is spent."""
        try:
            image = to_numpy(message.msg, "bgr8")
        except ImageConversionError as error:
            self.report.skipped += 1
            LOG.warning("%s: frame at %d skipped: %s", message.bag, message.timestamp, error)
            return False
        detections = self.detector.detect(image, "bgr8")
        if self.tracker is not None:
            detections = self.tracker.update(detections)
        self.report.frames += 1
        stamp_ns = stamp_to_ns(message.msg.header.stamp) or message.timestamp
        selection = self.selector.offer(stamp_ns, detections, image)
        if not selection.keep:
            return False
        height, width = image.shape[:2]
        record = SelectionRecord(
            message.topic, stamp_ns, selection.reasons, self.model_name,
            list(self.detector.names), width, height, detections, self.model_version,
        )  # fmt: skip
        if self.latest_info is not None:
            self.writer.write(info_topic, message.timestamp, self.latest_info.raw)
        else:
            self.info_owed = True
        self.writer.write(message.topic, message.timestamp, message.raw)
        self.writer.write(SELECTION_TOPIC, message.timestamp, string(data=record.to_json()))
        return self.selector.exhausted


def _duration_s(reader: BagReader, topic: str) -> float:
    """Seconds from the topic's first message to its last, from the bags' timestamps alone
    (nothing is decoded)."""
    first = last = None
    for recording in reader.recordings:
        connections = [c for c in recording.connections if c.topic == topic]
        for _, timestamp, _ in recording.messages(connections):
            first = timestamp if first is None else min(first, timestamp)
            last = timestamp if last is None else max(last, timestamp)
    return 0.0 if first is None or last is None else (last - first) / 1e9
