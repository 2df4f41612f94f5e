"""Writing files and folders so that a reader, or a re-run after a crash, never sees half of one.

Everything is written under a hidden temporary name beside its destination and renamed into
place when complete: a rename within one file system is atomic, so an interrupted run leaves
either the old result, the new one, or a stray temporary that :func:`remove_stale_temporaries`
clears next time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from odet_ros.errors import OdetError

TEMP_SUFFIX = ".tmp"


def temporary_path(path: Path) -> Path:
    """A hidden name beside ``path``, unique per process (parallel writers never share one)."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def partial_path(path: Path) -> Path:
    """Where a long-running output (a stream of results) grows until it is complete; unlike a
    temporary it stays after a failure, holding everything done so far."""
    return path.with_name(path.name + ".partial")


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "w", *, durable: bool = True) -> Iterator[IO[Any]]:
    """Open a temporary file that becomes ``path`` once the block succeeds; on failure it is
    removed and an older ``path`` is left untouched.

    ``durable`` syncs the data to disk before the rename, so that even a power cut leaves the
    whole file or none. Without it a killed process still leaves none, but a power cut may
    leave the file empty or cut: for bulk outputs whose readers check completeness themselves.
    """
    temporary = temporary_path(path)
    try:
        with temporary.open(mode, encoding=None if "b" in mode else "utf-8") as stream:
            yield stream
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes | memoryview, *, durable: bool = True) -> None:
    with atomic_write(path, "wb", durable=durable) as stream:
        stream.write(data)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_write(path) as stream:
        stream.write(text)


def remove_stale_temporaries(folder: Path) -> int:
    """Delete temporaries an interrupted run left in ``folder``; returns how many."""
    if not folder.is_dir():
        return 0
    stale = [p for p in folder.glob(f".*{TEMP_SUFFIX}") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


@contextlib.contextmanager
def staged_folder(
    destination: Path,
    error: type[OdetError] = OdetError,
    *,
    replace: bool = False,
    named: bool = False,
) -> Iterator[Path]:
    """Yield a folder that becomes ``destination`` once the block succeeds.

    An existing ``destination`` is an ``error`` unless ``replace``; then it is swapped out only
    after the new folder is complete. With ``named``, the yielded path (not yet created) already
    has the destination's name, inside a hidden staging folder: for writers such as rosbag2's
    that name their files after their folder.
    """
    if destination.exists() and not replace:
        raise error(f"{destination} already exists (pass --force to replace it)")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
    )
    built = staging / destination.name if named else staging
    try:
        yield built
        _move_into_place(built, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if named:
        staging.rmdir()


def _move_into_place(built: Path, destination: Path) -> None:
    if not destination.exists():
        built.rename(destination)
        return
    retired = built.with_name(f"{built.name}.old")
    destination.rename(retired)
    built.rename(destination)
    shutil.rmtree(retired, ignore_errors=True)
