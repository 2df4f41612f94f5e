"""Writing dataset files so that a reader (or a re-run after a crash) never sees half of one.

Each file is written under a hidden temporary name in its own folder and renamed into place:
a rename within one file system is atomic, so an interrupted run leaves either the old file,
the new one, or a stray ``.*.tmp`` that :func:`remove_stale_temporaries` clears next time.
"""

from __future__ import annotations

import os
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temporary_path(path: Path) -> Path:
    """A hidden name beside ``path``, unique per process (parallel writers never share one)."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def write_bytes_atomic(path: Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` via a temporary file; on failure nothing is left behind."""
    temporary = temporary_path(path)
    try:
        with temporary.open("wb") as stream:
            stream.write(data)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def remove_stale_temporaries(folder: Path) -> int:
    """Delete temporaries an interrupted run left in ``folder``; returns how many."""
    if not folder.is_dir():
        return 0
    stale = [p for p in folder.glob(f".*{TEMP_SUFFIX}") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)
