"""Writing mcap rosbag2 folders that `ros2 bag info` and `ros2 bag play` accept (Humble, Jazzy).

rosbags' Writer does the writing. What this adds: the vision_msgs typestore, QoS profiles per
topic, a refusal to write into a folder that holds something, flush(), which makes what was
written so far survive a crash, and close_at_checkpoint(), which still closes a bag properly after
a write failed (a full disk) by going back to the last flush. Like rosbag2, metadata.yaml appears
only on close(): a folder without it is a recording that did not finish, and read_messages says
so.
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from dataclasses import dataclass
from io import BufferedWriter, BytesIO, FileIO
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rosbags.rosbag2 import StoragePlugin, Writer, WriterError
from rosbags.rosbag2.storage_mcap import McapWriter, PendingChunk

from odet_ros.bags.errors import BagError
from odet_ros.bags.qos import qos_profile
from odet_ros.bags.typestore import make_typestore

if TYPE_CHECKING:
    from types import TracebackType

    from rosbags.interfaces import Connection

# Version 8 stores each topic's QoS as a YAML string, which Humble's rosbag2 reads; version 9 (a
# YAML list) makes Humble fail with "bad conversion". Jazzy reads both.
METADATA_VERSION: Literal[8] = 8
NO_TIME = 2**63 - 1  # rosbags' "no message yet" start time


@dataclass(frozen=True)
class _Checkpoint:
    """What the writer had on disk at a flush: the file's length and the counts that describe
    it (the mcap summary's and metadata.yaml's)."""

    offset: int
    chunks: int
    channel_stats: dict[int, int]
    message_times: tuple[int, int]
    counts: dict[int, int]
    timestamps: tuple[int, int]

    @classmethod
    def of(cls, writer: Writer, storage: McapWriter) -> _Checkpoint:
        return cls(
            storage.bio.tell(),
            len(storage.chunks),
            dict(storage.channel_stats),
            (storage.message_start_time, storage.message_end_time),
            dict(writer.counts),
            (writer.min_timestamp, writer.max_timestamp),
        )

    def restore(self, writer: Writer, storage: McapWriter) -> None:
        """Put writer and storage back to this checkpoint, the file cut to its length; topics
        added since stay declared, with no messages."""
        with contextlib.suppress(OSError):  # its buffer may not fit on the disk either
            storage.bio.close()
        bio = FileIO(storage.path, "r+")
        bio.truncate(self.offset)
        bio.seek(self.offset)
        storage.bio = BufferedWriter(bio)
        del storage.chunks[self.chunks :]
        storage.chunk = PendingChunk(NO_TIME, 0, BytesIO(), defaultdict(list))
        storage.channel_stats = {c: self.channel_stats.get(c, 0) for c in storage.channel_stats}
        storage.message_start_time, storage.message_end_time = self.message_times
        writer.counts = {c: self.counts.get(c, 0) for c in writer.counts}
        writer.min_timestamp, writer.max_timestamp = self.timestamps


class BagWriter:
    """An mcap rosbag2 folder being written: add_topic(), then write(); flush() now and then.

    Use as a context manager: a clean exit writes the index and metadata.yaml; an exception
    keeps the messages written so far but no metadata.yaml, so the bag reads as unfinished.
    """

    def __init__(self, path: str | Path, distro: str = "humble") -> None:
        self.path = Path(path)
        self.typestore = make_typestore(distro)
        self._writer: Writer | None = None
        self._connections: dict[str, Connection] = {}
        self._checkpoint: _Checkpoint | None = None

    def __enter__(self) -> BagWriter:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    @property
    def topics(self) -> dict[str, str]:
        """Topic name to message type, as added."""
        return {topic: c.msgtype for topic, c in self._connections.items()}

    def open(self) -> None:
        """Create the bag folder; an existing empty folder is taken, a non-empty one refused."""
        if self.path.exists():
            if not self.path.is_dir() or any(self.path.iterdir()):
                raise BagError(f"{self.path} already exists: choose a new bag folder name")
            self.path.rmdir()
        writer = Writer(self.path, version=METADATA_VERSION, storage_plugin=StoragePlugin.MCAP)
        try:
            writer.open()
            self._writer = writer
            self._sync()
        except (WriterError, OSError) as error:
            raise BagError(f"{self.path}: cannot create the bag ({error})") from None

    def add_topic(self, topic: str, msgtype: str, qos: str = "auto") -> None:
        """Declare a topic; ``qos``: auto (by type), sensor_data, reliable or transient_local."""
        writer = self._open_writer()
        if topic in self._connections:
            raise BagError(f"{self.path}: topic {topic} was already added")
        if msgtype not in self.typestore.fielddefs:
            raise BagError(f"{self.path}: unknown message type {msgtype} for topic {topic}")
        self._connections[topic] = writer.add_connection(
            topic,
            msgtype,
            typestore=self.typestore,
            offered_qos_profiles=[qos_profile(qos, msgtype)],
        )

    def write(self, topic: str, timestamp_ns: int, msg: object) -> None:
        """Write a rosbags message, or one already serialized to CDR bytes."""
        writer = self._open_writer()
        connection = self._connections.get(topic)
        if connection is None:
            raise BagError(f"{self.path}: topic {topic} was not added (call add_topic first)")
        if timestamp_ns < 0:
            raise BagError(f"{self.path}: negative timestamp {timestamp_ns} on {topic}")
        data: bytes | memoryview
        if isinstance(msg, (bytes, bytearray, memoryview)):
            data = memoryview(msg)  # the same bytes, as the type rosbags takes
        else:
            msgtype = getattr(msg, "__msgtype__", type(msg).__name__)
            if msgtype != connection.msgtype:
                raise BagError(
                    f"{self.path}: topic {topic} takes {connection.msgtype}, not {msgtype}"
                )
            data = self.typestore.serialize_cdr(msg, msgtype)
        writer.write(connection, timestamp_ns, data)

    def flush(self) -> None:
        """Put every message written so far on disk, so that a crash or power cut keeps them.

        rosbags' McapWriter keeps the open chunk in memory until it reaches 1 MiB (minutes of
        detections) and has no public flush, so this closes that chunk early with its own
        ``close_chunk`` and syncs the file. setup.py pins rosbags to the releases where that holds
        (0.11); test_bag_writer fails on one where it does not.
        """
        storage = self._storage()
        if storage.chunk.msgs:
            storage.close_chunk()
        self._sync()

    def close_at_checkpoint(self) -> int:
        """Close the bag as it was at the last flush (or open): after a write failed half-way
        (ENOSPC), the file is cut back to what that flush put on disk and the index and
        metadata.yaml are written for it, so the bag opens in ``ros2 bag info`` with every
        message flushed before the failure. Needs a little free space (the index); returns the
        number of messages kept."""
        writer, storage = self._open_writer(), self._storage()
        assert self._checkpoint is not None  # taken by open()
        self._checkpoint.restore(writer, storage)
        kept = sum(writer.counts.values())
        self.close()
        return kept

    def close(self) -> None:
        """Write the index and metadata.yaml: the bag is complete."""
        if self._writer is not None:
            self._writer.close()  # on an error the writer stays, for close_at_checkpoint
            self._writer = None

    def abort(self) -> None:
        """Stop without metadata.yaml, keeping (and flushing) every message written."""
        if self._writer is None:
            return
        try:
            self.flush()
        finally:
            writer, self._writer = self._writer, None
            writer.abort()

    def _storage(self) -> McapWriter:
        storage = self._open_writer().storage
        assert isinstance(storage, McapWriter)  # open() always picks MCAP
        return storage

    def _sync(self) -> None:
        """Everything written so far to disk, and a checkpoint of it."""
        writer, storage = self._open_writer(), self._storage()
        storage.bio.flush()
        os.fsync(storage.bio.fileno())
        self._checkpoint = _Checkpoint.of(writer, storage)

    def _open_writer(self) -> Writer:
        if self._writer is None or self._writer.storage is None:
            raise BagError(f"{self.path}: the bag writer is not open")
        return self._writer
