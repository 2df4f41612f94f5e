"""One recording session on disk: flushed often, split by size or duration, stopped on low disk.

A session lives in ``output_dir/<prefix>_<YYYYmmdd_HHMMSS>/`` and holds one or more rosbag2 (mcap)
bags, its parts, named ``<session>_<n>``. A part is opened at the first message written to it,
so no empty bag is left behind. ``flush()`` of the bag writer runs at least every
``flush_period`` seconds while data are waiting, so a power cut loses at most that much; a part
is closed (metadata.yaml written) when it is full, when the session stops and on close().

A disk that fills between two free-space checks (another process writing, a small
``min_free_disk_mb``) must not leave a bag without its index: the session holds a small reserve
file, and when a write fails it frees the reserve and closes the part as it stood at its last
flush (:meth:`BagWriter.close_at_checkpoint`), so ``ros2 bag info`` opens it.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from odet_ros.bags import BagWriter
from odet_ros.capture.errors import LowDiskError
from odet_ros.errors import OdetError

MB = 1024 * 1024
DISK_CHECK_PERIOD = 1.0  # seconds between free-disk checks while recording
RESERVE_BYTES = 4 * MB  # room to close a bag on a full disk: its index (~1 MB for 10 GB)
RESERVE_NAME = ".odet-reserve"


@dataclass(frozen=True)
class SessionSettings:
    """Where and how a session writes. A limit of 0 switches that limit off."""

    output_dir: Path
    prefix: str = "capture"
    distro: str = "humble"
    flush_period: float = 2.0  # seconds
    split_size_mb: float = 0.0
    split_duration: float = 0.0  # seconds
    min_free_disk_mb: float = 1024.0

    def __post_init__(self) -> None:
        if not self.prefix or "/" in self.prefix:
            raise OdetError(f"prefix must be a non-empty name without '/', got {self.prefix!r}")
        if not math.isfinite(self.flush_period) or self.flush_period <= 0:
            raise OdetError(f"flush_period must be > 0 seconds, got {self.flush_period}")
        for name in ("split_size_mb", "split_duration", "min_free_disk_mb"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise OdetError(f"{name} must be a finite number >= 0, got {value}")


def free_disk_mb(path: Path) -> float:
    """Free space, in MiB, on the file system holding ``path``."""
    return shutil.disk_usage(path).free / MB


class _Part:
    """One bag of the session and how much has gone into it."""

    def __init__(self, path: Path, distro: str, opened_at: float) -> None:
        self.path = path
        self.opened_at = opened_at
        self.size_bytes = 0  # serialized messages: the mcap file, less a few headers
        self.writer = BagWriter(path, distro)
        self.writer.open()

    def write(self, topic: str, msgtype: str, timestamp_ns: int, msg: object) -> None:
        if topic not in self.writer.topics:
            self.writer.add_topic(topic, msgtype)
        data = self.writer.typestore.serialize_cdr(msg, msgtype)
        self.writer.write(topic, timestamp_ns, data)
        self.size_bytes += len(data)


class CaptureSession:
    """Writes messages into the parts of one session directory."""

    def __init__(
        self,
        settings: SessionSettings,
        *,
        free_disk: Callable[[Path], float] = free_disk_mb,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.settings = settings
        self._free_disk = free_disk
        self._clock = clock
        settings.output_dir.mkdir(parents=True, exist_ok=True)
        self._check_disk(settings.output_dir)
        self.directory = _new_directory(settings.output_dir, settings.prefix, now())
        self._reserve = _reserve(self.directory / RESERVE_NAME)
        self.parts: list[Path] = []
        self._part: _Part | None = None
        self._latched: dict[str, tuple[str, object]] = {}
        self._last_flush = self._last_disk_check = clock()
        self._unflushed = 0
        self.messages = 0
        self.durable_messages = 0  # written before the last flush: survive a power cut
        self.closed = False

    def write(self, topic: str, msgtype: str, timestamp_ns: int, msg: object) -> None:
        """Write one message, opening or rolling over to a new part as the limits say."""
        if self.closed:
            raise OdetError(f"capture session {self.directory} is closed")
        part = self._part
        if part is None or self._is_full(part):
            part = self._open_part(timestamp_ns)
        self._write(part, topic, msgtype, timestamp_ns, msg)
        self.housekeep()

    def latch(self, topic: str, msgtype: str, timestamp_ns: int, msg: object) -> None:
        """Write a message now and again at the start of every later part (CameraInfo)."""
        self.write(topic, msgtype, timestamp_ns, msg)
        self._latched[topic] = (msgtype, msg)

    def housekeep(self) -> None:
        """Flush when due and check free disk; call it periodically even without new data.

        Raises LowDiskError, after closing the session, when free disk is under the minimum.
        """
        now = self._clock()
        if self._unflushed and now - self._last_flush >= self.settings.flush_period and self._part:
            try:
                self._part.writer.flush()
            except OSError as error:
                self._fail(self._part, error)
            self._flushed()
        if now - self._last_disk_check >= DISK_CHECK_PERIOD:
            self._last_disk_check = now
            try:
                self._check_disk(self.directory)
            except LowDiskError:
                self.close()
                raise

    def flush(self) -> None:
        """Push everything written so far to disk."""
        if self._part is not None:
            try:
                self._part.writer.flush()
            except OSError as error:
                self._fail(self._part, error)
        self._flushed()

    def close(self) -> None:
        """Close the open part (metadata.yaml written); safe to call more than once."""
        if not self.closed:
            self.closed = True
            self._reserve.unlink(missing_ok=True)  # closing may need the room
            self._close_part()

    def _flushed(self) -> None:
        self._last_flush = self._clock()
        self._unflushed = 0
        self.durable_messages = self.messages

    def _write(self, part: _Part, topic: str, msgtype: str, timestamp_ns: int, msg: object) -> None:
        try:
            part.write(topic, msgtype, timestamp_ns, msg)
        except OSError as error:
            self._fail(part, error)
        self.messages += 1
        self._unflushed += 1

    def _fail(self, part: _Part, error: OSError) -> NoReturn:
        """A write or flush failed (a full disk): free the reserve, close the part as it was at
        its last flush, and raise an OdetError that says what was kept."""
        self.closed = True
        self._part = None
        self._reserve.unlink(missing_ok=True)
        lost = self.messages - self.durable_messages
        try:
            kept = part.writer.close_at_checkpoint()
        except Exception as again:  # the last resort: report, never crash the recorder
            raise OdetError(
                f"cannot write to {part.path}: {error.strerror}; closing it failed too"
                f" ({again}): `odet bag info` reads it up to its last intact message"
            ) from error
        self.messages = self.durable_messages
        raise OdetError(
            f"cannot write to {part.path}: {error.strerror}; the bag is closed with its {kept}"
            f" messages flushed before ({lost} since then lost)"
        ) from error

    def _is_full(self, part: _Part) -> bool:
        settings = self.settings
        if settings.split_duration and self._clock() - part.opened_at >= settings.split_duration:
            return True
        return bool(settings.split_size_mb) and part.size_bytes >= settings.split_size_mb * MB

    def _open_part(self, timestamp_ns: int) -> _Part:
        self._close_part()
        path = self.directory / f"{self.directory.name}_{len(self.parts)}"
        part = self._part = _Part(path, self.settings.distro, self._clock())
        self.parts.append(path)
        for topic, (msgtype, msg) in self._latched.items():
            self._write(part, topic, msgtype, timestamp_ns, msg)
        return part

    def _close_part(self) -> None:
        part, self._part = self._part, None
        if part is None:
            return
        try:
            part.writer.close()
        except OSError as error:
            self._part = part
            self._fail(part, error)
        self.durable_messages = self.messages
        self._unflushed = 0

    def _check_disk(self, where: Path) -> None:
        free = self._free_disk(self.settings.output_dir)
        minimum = self.settings.min_free_disk_mb
        if free < minimum:
            raise LowDiskError(
                f"free disk {free:.0f} MB is under min_free_disk_mb {minimum:.0f} MB at {where}"
            )


def _reserve(path: Path) -> Path:
    """Hold RESERVE_BYTES of disk at ``path``; LowDiskError if they are not there."""
    try:
        with path.open("wb") as reserve:
            os.posix_fallocate(reserve.fileno(), 0, RESERVE_BYTES)
    except OSError as error:
        path.unlink(missing_ok=True)
        raise LowDiskError(
            f"{path.parent}: no room for a {RESERVE_BYTES // MB} MB reserve ({error.strerror})"
        ) from error
    return path


def _new_directory(output_dir: Path, prefix: str, started: datetime) -> Path:
    """``<prefix>_<YYYYmmdd_HHMMSS>``, with ``_<n>`` added if that second is taken."""
    name = f"{prefix}_{started:%Y%m%d_%H%M%S}"
    path = output_dir / name
    suffix = 1
    while path.exists():
        path = output_dir / f"{name}_{suffix}"
        suffix += 1
    path.mkdir()
    return path
