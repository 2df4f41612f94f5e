"""Reading an MCAP file that was never closed: no summary, no footer, maybe cut mid-record.

rosbag2 (and our BagWriter) write the MCAP summary and footer only on a clean close, and rosbags'
McapReader refuses a file without them. A robot that lost power leaves exactly such a file, so
this reader walks the records from the start and stops at the first incomplete one. A chunk cut
short is decompressed as far as its bytes go, so the messages at its start are kept too.

Chunks are read one at a time (constant memory); messages come out in file order, sorted by time
within each chunk, which is time order for a file that rosbag2 records as messages arrive.
"""

from __future__ import annotations

import struct
import sys
from binascii import crc32
from collections import Counter
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from rosbags.interfaces import (
    Connection,
    ConnectionExtRosbag2,
    MessageDefinition,
    MessageDefinitionFormat,
)

from odet_ros.bags.errors import BagError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

MAGIC = b"\x89MCAP0\r\n"
OP_HEADER, OP_FOOTER, OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK = (
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
)
OP_DATA_END = 0x0F
RECORD_HEAD = struct.Struct("<BQ")  # opcode, content length
MESSAGE_HEAD = struct.Struct("<HIQQ")  # channel id, sequence, log time, publish time
CHUNK_HEAD = struct.Struct("<QQQI")  # start time, end time, uncompressed size, uncompressed crc
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
SCHEMA_FORMATS = {"ros2msg": MessageDefinitionFormat.MSG, "ros2idl": MessageDefinitionFormat.IDL}

Record = tuple[int, memoryview]  # opcode, content


def _string(buf: memoryview, pos: int) -> tuple[str, int]:
    (size,) = U32.unpack_from(buf, pos)
    return bytes(buf[pos + 4 : pos + 4 + size]).decode(), pos + 4 + size


def _decompress(compression: str, data: memoryview) -> memoryview:
    """Decompress a chunk; of a cut-off stream, as much as its bytes hold."""
    if compression == "":
        return data
    if compression == "zstd":
        if sys.version_info >= (3, 14):
            from compression import zstd
        else:
            from backports import zstd
        return memoryview(zstd.ZstdDecompressor().decompress(bytes(data)))
    if compression == "lz4":
        from lz4.frame import LZ4FrameDecompressor

        return memoryview(LZ4FrameDecompressor().decompress(bytes(data)))
    raise ValueError(f"unsupported chunk compression {compression!r}")


def records_in(buf: memoryview) -> Iterator[Record]:
    """The complete records in ``buf``, stopping silently at an incomplete one."""
    pos, end = 0, len(buf)
    while pos + RECORD_HEAD.size <= end:
        opcode, size = RECORD_HEAD.unpack_from(buf, pos)
        pos += RECORD_HEAD.size
        if pos + size > end:
            return
        yield opcode, buf[pos : pos + size]
        pos += size


class McapSalvage:
    """rosbags-style storage reader (``connections``, ``messages()``) for an unclosed MCAP file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.size = 0
        self.connections: list[Connection] = []
        self.message_count = 0
        self.last_timestamp: int | None = None
        self.intact_bytes = 0  # file offset up to which every record was read
        self.damage = ""  # "cut" (ends inside a record), "corrupt" (bad chunk) or "" (unclosed)
        self._bio: BinaryIO | None = None

    def open(self) -> None:
        """Check the header, then walk the whole file once for channels, counts and damage."""
        self._bio = self.path.open("rb")
        try:
            self.size = self.path.stat().st_size
            if self._bio.read(len(MAGIC)) != MAGIC:
                raise BagError(f"{self.path}: not an MCAP file (bad magic bytes)")
            self._index()
        except (struct.error, UnicodeDecodeError) as error:
            self.close()
            raise BagError(f"{self.path}: unreadable MCAP record ({error})") from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        bio, self._bio = self._bio, None
        if bio is not None:
            bio.close()

    @property
    def warning(self) -> str:
        """What was lost, in one sentence for the log."""
        read = f"{self.message_count} messages read"
        if self.last_timestamp is not None:
            read += f" up to log time {self.last_timestamp} ns"
        lost_bytes = self.size - self.intact_bytes
        if self.damage == "corrupt":
            return (
                f"{self.path} has a corrupt chunk at byte {self.intact_bytes}: {read};"
                f" the last {lost_bytes} bytes are skipped"
            )
        if self.damage == "cut":
            per_message = max(1, self.intact_bytes // max(1, self.message_count))
            lost_messages = -(-lost_bytes // per_message)  # rounded up: a cut message counts
            return (
                f"{self.path} is cut short at byte {self.intact_bytes} of {self.size}: {read};"
                f" the last {lost_bytes} bytes (about {lost_messages} messages) are lost"
            )
        return (
            f"{self.path} was not closed (no index): {read};"
            " whatever was not yet written to it is lost"
        )

    def messages(
        self,
        connections: Collection[Connection],
        start: int | None = None,
        stop: int | None = None,
    ) -> Iterator[tuple[Connection, int, bytes]]:
        """Messages of ``connections`` with ``start <= log time < stop``, chunk by chunk."""
        wanted = {c.id: c for c in connections}
        start = 0 if start is None else start
        stop = 2**64 if stop is None else stop
        for batch in self._batches():
            found = []
            for opcode, content in batch:
                if opcode != OP_MESSAGE:
                    continue
                channel, _, log_time, _ = MESSAGE_HEAD.unpack_from(content)
                if channel in wanted and start <= log_time < stop:
                    found.append((log_time, channel, content))
            found.sort(key=itemgetter(0))
            for log_time, channel, content in found:
                yield wanted[channel], log_time, bytes(content[MESSAGE_HEAD.size :])

    def _index(self) -> None:
        schemas: dict[int, tuple[str, MessageDefinition]] = {}
        channels: dict[int, tuple[str, str, str]] = {}
        counts: Counter[int] = Counter()
        for batch in self._batches():
            for opcode, content in batch:
                if opcode == OP_MESSAGE:
                    channel, _, log_time, _ = MESSAGE_HEAD.unpack_from(content)
                    counts[channel] += 1
                    self.last_timestamp = max(log_time, self.last_timestamp or 0)
                elif opcode == OP_SCHEMA:
                    (schema_id,) = U16.unpack_from(content)
                    name, pos = _string(content, 2)
                    encoding, pos = _string(content, pos)
                    (size,) = U32.unpack_from(content, pos)
                    text = bytes(content[pos + 4 : pos + 4 + size]).decode()
                    fmt = SCHEMA_FORMATS.get(encoding, MessageDefinitionFormat.NONE)
                    schemas[schema_id] = (name, MessageDefinition(fmt, text))
                elif opcode == OP_CHANNEL:
                    channel, schema_id = struct.unpack_from("<HH", content)
                    topic, pos = _string(content, 4)
                    encoding, _ = _string(content, pos)
                    msgtype = schemas[schema_id][0] if schema_id in schemas else ""
                    channels[channel] = (topic, msgtype, encoding)
        self.message_count = sum(counts.values())
        empty = MessageDefinition(MessageDefinitionFormat.NONE, "")
        definitions = dict(schemas.values())
        self.connections = [
            Connection(
                id=channel,
                topic=topic,
                msgtype=msgtype,
                msgdef=definitions.get(msgtype, empty),
                digest="",
                msgcount=counts[channel],
                ext=ConnectionExtRosbag2(serialization_format=encoding, offered_qos_profiles=[]),
                owner=self,
            )
            for channel, (topic, msgtype, encoding) in sorted(channels.items())
        ]

    def _batches(self) -> Iterator[list[Record]]:
        """Records in file order, one list per chunk or top-level record; finds the damage."""
        bio = self._bio
        assert bio is not None, "open() first"
        pos = len(MAGIC)
        self.damage = ""
        while True:
            bio.seek(pos)  # another pass over the same file may have moved it while we yielded
            head = bio.read(RECORD_HEAD.size)
            if len(head) < RECORD_HEAD.size:
                self.damage = "cut" if head else ""
                break
            opcode, size = RECORD_HEAD.unpack(head)
            if opcode in (OP_FOOTER, OP_DATA_END):
                break
            content = memoryview(bio.read(min(size, self.size)))
            complete = len(content) == size
            if opcode == OP_HEADER and complete:
                self._check_profile(content)
            elif opcode == OP_CHUNK:
                records, used = self._chunk(content, complete)
                if records is None:
                    self.damage = "corrupt"
                    break
                if records:
                    yield records
                if not complete:
                    pos += (RECORD_HEAD.size + used) if used else 0
            elif complete:
                yield [(opcode, content)]
            if not complete:
                self.damage = "cut"
                break
            pos += RECORD_HEAD.size + size
        self.intact_bytes = pos

    def _chunk(self, content: memoryview, complete: bool) -> tuple[list[Record] | None, int]:
        """A chunk's records (as many as its bytes hold; None if corrupt) and the bytes used."""
        if len(content) < CHUNK_HEAD.size + 4:
            return [], 0
        _, _, uncompressed_size, crc = CHUNK_HEAD.unpack_from(content)
        try:
            compression, pos = _string(content, CHUNK_HEAD.size)
            raw = _decompress(compression, content[pos + U64.size :])
        except Exception:  # whatever the decoder says, the chunk is unusable
            return None, 0
        if complete and (len(raw) != uncompressed_size or (crc and crc32(raw) != crc)):
            return None, 0
        records = list(records_in(raw))
        if complete:
            return records, len(content)
        # Uncompressed records map byte for byte onto the file; compressed ones do not.
        used = sum(RECORD_HEAD.size + len(c) for _, c in records)
        return records, pos + U64.size + used if compression == "" else 0

    def _check_profile(self, header: memoryview) -> None:
        profile, _ = _string(header, 0)
        if profile != "ros2":
            raise BagError(f"{self.path}: MCAP profile is {profile!r}, not a ROS 2 recording")
