"""What a bag holds, per topic: type, count, rate, and for image topics encoding and size.

Counts and rates come from one pass over the raw messages (nothing is decoded but the first
image of each image topic): an index cannot be trusted for a bag cut short, and per-topic rates
need the first and last stamp of each topic, which rosbag2's metadata does not keep.
"""

from __future__ import annotations

from array import array
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from tqdm import tqdm

from odet_ros.bags.reader import bag_paths
from odet_ros.bags.recording import Recording
from odet_ros.bags.typestore import make_typestore

if TYPE_CHECKING:
    from collections.abc import Iterable

    from odet_ros.interfaces.protocols import CompressedImageMessage, ImageMessage

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
COMPRESSED_DEPTH_HEADER = 12  # bytes before the PNG in image_transport's compressedDepth


@dataclass(frozen=True)
class TopicInfo:
    """One topic of a bag; ``encoding`` is an Image's encoding or a CompressedImage's format."""

    name: str
    msgtype: str
    count: int
    rate_hz: float | None
    encoding: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class BagInfo:
    """One bag: where, how big, when, which topics, and what was found wrong with it."""

    path: Path
    storage: str
    size_bytes: int
    message_count: int
    start_ns: int | None
    end_ns: int | None
    topics: tuple[TopicInfo, ...]
    warnings: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        if self.start_ns is None or self.end_ns is None:
            return 0.0
        return (self.end_ns - self.start_ns) / 1e9

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as `odet bag info --json` prints it."""
        return {**asdict(self), "path": str(self.path), "duration_s": self.duration_s}


@dataclass
class _TopicTally:
    msgtype: str
    count: int = 0
    first_ns: int = 0
    last_ns: int = 0
    first_raw: bytes | None = None
    intervals: array[int] = field(default_factory=lambda: array("q"))  # 8 bytes a message

    @property
    def rate_hz(self) -> float | None:
        """The publishing rate: from the median interval, so pauses (a capture stopped and
        started, a sampled recording) do not pull it down as a mean over the whole bag would."""
        positive = np.frombuffer(self.intervals, np.int64)
        positive = positive[positive > 0]
        return 1e9 / float(np.median(positive)) if len(positive) else None


def bag_info(paths: str | Path | Iterable[str | Path], progress: bool = False) -> list[BagInfo]:
    """Describe each bag in ``paths``; ``progress`` shows a progress bar per bag."""
    return [_describe(path, progress) for path in bag_paths(paths)]


def _describe(path: Path, progress: bool) -> BagInfo:
    recording = Recording(path)
    try:
        tallies: dict[str, _TopicTally] = {}
        total = sum(c.msgcount for c in recording.connections)
        messages = recording.messages(recording.connections)
        for connection, timestamp, raw in tqdm(
            messages, total=total, disable=not progress, unit="msg", desc=path.name
        ):
            tally = tallies.get(connection.topic)
            if tally is None:
                tally = tallies[connection.topic] = _TopicTally(connection.msgtype)
                tally.first_ns = timestamp
                if connection.msgtype in IMAGE_TYPES:
                    tally.first_raw = raw
            else:
                tally.intervals.append(timestamp - tally.last_ns)
            tally.count += 1
            tally.last_ns = timestamp
        for connection in recording.connections:  # topics without messages are listed too
            tallies.setdefault(connection.topic, _TopicTally(connection.msgtype))
        topics = tuple(_topic_info(name, tallies[name]) for name in sorted(tallies))
        stamps = [(t.first_ns, t.last_ns) for t in tallies.values() if t.count]
        return BagInfo(
            path=path,
            storage=recording.storage,
            size_bytes=recording.size_bytes,
            message_count=sum(t.count for t in tallies.values()),
            start_ns=min(s[0] for s in stamps) if stamps else None,
            end_ns=max(s[1] for s in stamps) if stamps else None,
            topics=topics,
            warnings=tuple(recording.warnings),
        )
    finally:
        recording.close()


def _topic_info(name: str, tally: _TopicTally) -> TopicInfo:
    info = TopicInfo(name, tally.msgtype, tally.count, tally.rate_hz)
    if tally.first_raw is None:
        return info
    try:
        msg = make_typestore().deserialize_cdr(tally.first_raw, tally.msgtype)
    except Exception:  # a corrupt first image leaves its size unknown, not the whole report
        return info
    # rosbags types a decoded message as object; its msgtype says which of the two it is
    if tally.msgtype == "sensor_msgs/msg/Image":
        image = cast("ImageMessage", msg)
        return replace(info, encoding=image.encoding, width=image.width, height=image.height)
    compressed = cast("CompressedImageMessage", msg)
    width, height = _compressed_size(compressed)
    return replace(info, encoding=compressed.format, width=width, height=height)


def _compressed_size(msg: CompressedImageMessage) -> tuple[int | None, int | None]:
    """Width and height of a CompressedImage, by decoding it (None if it does not decode)."""
    import cv2

    buffer = np.frombuffer(msg.data, np.uint8)
    if "compressedDepth" in msg.format:
        buffer = buffer[COMPRESSED_DEPTH_HEADER:]
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED) if buffer.size else None
    if image is None:
        return None, None
    return image.shape[1], image.shape[0]
