"""Streaming, time-ordered reading of one or more bags, with messages decoded by rosbags."""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from odet_ros.bags.errors import BagError
from odet_ros.bags.recording import Recording
from odet_ros.bags.typestore import make_typestore, typestore_for

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from types import TracebackType

    from rosbags.interfaces import Connection
    from rosbags.typesys.store import Typestore

LOG = logging.getLogger(__name__)


class BagMessage(NamedTuple):
    """One message of a bag; ``timestamp`` is the receive time in ns, as the bag stores it."""

    bag: Path
    topic: str
    msgtype: str
    timestamp: int
    msg: Any  # a rosbags message of any type (msgtype says which)
    raw: bytes


@dataclass(frozen=True)
class BagTopic:
    """A topic across the bags read together; ``msgtype`` joins differing types with ' | '."""

    name: str
    msgtype: str
    count: int


def bag_paths(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """One path or several, as a list of Paths."""
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    found = [Path(p) for p in paths]
    if not found:
        raise BagError("no bag given")
    return found


class BagReader:
    """Bags read as one recording: topics at a glance, then messages in time order.

    Opening reads only the bags' indexes (except for a bag cut short, which is scanned once).
    Use as a context manager, or call close().
    """

    def __init__(
        self, paths: str | Path | Iterable[str | Path], typestore: Typestore | None = None
    ) -> None:
        self.typestore = typestore if typestore is not None else make_typestore()
        self.recordings: list[Recording] = []
        try:
            for path in bag_paths(paths):
                self.recordings.append(Recording(path))
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> BagReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        recordings, self.recordings = self.recordings, []
        for recording in recordings:
            recording.close()

    @property
    def topics(self) -> dict[str, BagTopic]:
        """Topic name to type and message count, from the bags' indexes."""
        types: dict[str, set[str]] = {}
        counts: dict[str, int] = {}
        for connection in self._connections():
            types.setdefault(connection.topic, set()).add(connection.msgtype)
            counts[connection.topic] = counts.get(connection.topic, 0) + connection.msgcount
        return {
            name: BagTopic(name, " | ".join(sorted(types[name])), counts[name])
            for name in sorted(types)
        }

    def messages(
        self,
        topics: Iterable[str] | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> Iterator[BagMessage]:
        """Messages on ``topics`` (default: all) with ``start_ns <= timestamp < end_ns``."""
        selected = self._select(topics)
        typestore = typestore_for(selected, self.typestore, self._names())
        streams = [
            self._decoded(recording, selected, typestore, start_ns, end_ns)
            for recording in self.recordings
        ]
        if len(streams) == 1:
            return streams[0]
        return heapq.merge(*streams, key=attrgetter("timestamp"))

    def _decoded(
        self,
        recording: Recording,
        connections: list[Connection],
        typestore: Typestore,
        start_ns: int | None,
        end_ns: int | None,
    ) -> Iterator[BagMessage]:
        deserialize = typestore.deserialize_cdr
        path = recording.path
        for connection, timestamp, raw in recording.messages(connections, start_ns, end_ns):
            try:
                msg = deserialize(raw, connection.msgtype)
            except Exception as error:  # the decoder raises many kinds; all mean a bad message
                raise BagError(
                    f"{path}: cannot decode the {connection.msgtype} message on"
                    f" {connection.topic} at {timestamp} ns ({error})"
                ) from error
            yield BagMessage(path, connection.topic, connection.msgtype, timestamp, msg, raw)

    def _select(self, topics: Iterable[str] | None) -> list[Connection]:
        """The connections to read; unknown topics and undecodable types are refused."""
        connections = self._connections()
        if topics is not None:
            wanted = set([topics] if isinstance(topics, str) else topics)
            present = {c.topic for c in connections}
            if missing := wanted - present:
                raise BagError(
                    f"topic {', '.join(sorted(missing))} not in {self._names()}"
                    f" (it has {', '.join(sorted(present)) or 'no topics'})"
                )
            connections = [c for c in connections if c.topic in wanted]
        if undecodable := sorted(
            {f"{c.topic} ({c.msgtype})" for c in connections if not self._decodable(c)}
        ):
            note = f"no definition of the message type of {', '.join(undecodable)}"
            if topics is not None:
                raise BagError(f"cannot decode {note}: the bag carries none and ROS has none here")
            LOG.warning("skipping topics with %s", note)
        return [c for c in connections if self._decodable(c)]

    def _decodable(self, connection: Connection) -> bool:
        return connection.msgtype in self.typestore.fielddefs or bool(connection.msgdef.data)

    def _connections(self) -> list[Connection]:
        return [c for recording in self.recordings for c in recording.connections]

    def _names(self) -> str:
        return ", ".join(str(recording.path) for recording in self.recordings)


def open_bags(
    paths: str | Path | Iterable[str | Path], typestore: Typestore | None = None
) -> BagReader:
    """Open bags for reading (a context manager); see BagReader."""
    return BagReader(paths, typestore)


def read_messages(
    paths: str | Path | Iterable[str | Path],
    topics: Iterable[str] | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    typestore: Typestore | None = None,
) -> Iterator[BagMessage]:
    """Stream the messages of one or more bags in time order, in constant memory.

    ``paths``: rosbag2 folders (sqlite3 or mcap) and bare .mcap/.db3 files. ``topics`` filters
    by topic name, ``start_ns``/``end_ns`` by receive time (end excluded). A bag cut short is read
    up to its last intact message, with a warning in the log.
    """
    with BagReader(paths, typestore) as reader:
        yield from reader.messages(topics, start_ns, end_ns)
