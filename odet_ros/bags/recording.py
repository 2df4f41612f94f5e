"""One recording opened for reading: a rosbag2 folder, or a bare .mcap or .db3 file.

Intact bags go to rosbags' own readers. A bag cut short is read as far as it goes instead: a
folder without metadata.yaml (rosbag2 writes it on close) has its storage files read one by one,
and an .mcap without its closing index goes to McapSalvage. What was lost is logged once per bag.
"""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import apsw
from rosbags.rosbag2 import Reader, ReaderError

from odet_ros.bags.errors import BagError
from odet_ros.bags.mcap_salvage import McapSalvage

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    from rosbags.interfaces import Connection

LOG = logging.getLogger(__name__)
STORAGES = {".mcap": "mcap", ".db3": "sqlite3"}


class StorageReader(Protocol):
    """What rosbags' Reader and McapSalvage both offer."""

    @property
    def connections(self) -> list[Connection]: ...

    def messages(
        self, connections: Collection[Connection], start: int | None, stop: int | None
    ) -> Iterator[tuple[Connection, int, bytes]]: ...

    def close(self) -> None: ...


def _split_index(path: Path) -> list[int | str]:
    """Sort key putting bag_2.mcap before bag_10.mcap."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


class Recording:
    """A bag opened for reading; ``messages()`` streams raw messages of its parts in order."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.parts: list[StorageReader] = []
        self.warnings: list[str] = []
        if not self.path.exists():
            raise BagError(f"{self.path}: no such bag file or folder")
        try:
            self._open()
        except OSError as error:
            self.close()
            raise BagError(f"{error.filename or self.path}: {error.strerror}") from None
        except BaseException:
            self.close()
            raise
        if self.warnings:
            LOG.warning("%s", "; ".join(self.warnings))

    @property
    def storage(self) -> str:
        files = self.storage_files() or [self.path]
        return STORAGES.get(files[0].suffix, files[0].suffix.lstrip("."))

    @property
    def size_bytes(self) -> int:
        if self.path.is_file():
            return self.path.stat().st_size
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())

    @property
    def connections(self) -> list[Connection]:
        return [c for part in self.parts for c in part.connections]

    def storage_files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        found = [f for f in self.path.iterdir() if f.suffix in STORAGES and f.is_file()]
        return sorted(found, key=_split_index)

    def messages(
        self,
        connections: Collection[Connection],
        start: int | None = None,
        stop: int | None = None,
    ) -> Iterator[tuple[Connection, int, bytes]]:
        """Raw messages of ``connections`` (empty: none) with ``start <= time < stop``."""
        selected = {id(c) for c in connections}
        for part in self.parts:
            wanted = [c for c in part.connections if id(c) in selected]
            if not wanted:
                continue
            try:
                yield from part.messages(wanted, start, stop)
            except (ReaderError, apsw.Error) as error:
                note = f"stopped reading {self.path}: {error}; the rest of it is not read"
                self.warnings.append(note)
                LOG.warning("%s", note)
                return

    def close(self) -> None:
        parts, self.parts = self.parts, []
        for part in parts:
            with contextlib.suppress(Exception):  # read-only: a damaged bag's reader may fail
                part.close()  # to close (rosbags on odd metadata.yaml values); nothing is lost

    def _open(self) -> None:
        if self.path.is_file():
            if self.path.suffix not in STORAGES:
                raise BagError(f"{self.path}: not a rosbag2 folder, .mcap or .db3 file")
            self.parts = [self._open_file(self.path)]
            return
        if (self.path / "metadata.yaml").is_file():
            reader = Reader(self.path)
            try:
                reader.open()
            except Exception as error:  # odd metadata.yaml values fail deep inside rosbags
                self.warnings.append(f"{self.path}: metadata.yaml or a file is unusable ({error})")
            else:
                self.parts = [reader]
                return
        else:
            self.warnings.append(f"{self.path}: no metadata.yaml, the recording was not closed")
        files = self.storage_files()
        if not files:
            raise BagError(f"{self.path}: not a rosbag2 folder (no metadata.yaml, .mcap or .db3)")
        self.parts = [self._open_file(f) for f in files]

    def _open_file(self, path: Path) -> StorageReader:
        reader = Reader(path)
        try:
            reader.open()
        except Exception as error:  # rosbags fails on damaged files with assorted error types
            if path.suffix != ".mcap":
                raise BagError(f"{path}: not a readable rosbag2 database ({error})") from None
        else:
            return reader
        salvage = McapSalvage(path)
        salvage.open()
        self.warnings.append(salvage.warning)
        return salvage
