"""Write files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def partial_path(path: Path) -> Path:
    """Where ``path`` is written until it is complete."""
    return path.with_name(path.name + ".partial")


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open ``path.partial`` for writing and rename it to ``path`` once the block succeeds.

    On failure the partial file stays for inspection and an older ``path`` is left untouched.
    """
    partial = partial_path(path)
    with partial.open(mode, encoding=None if "b" in mode else "utf-8") as stream:
        yield stream
        stream.flush()
        os.fsync(stream.fileno())
    partial.replace(path)
