"""Where labels are read from: a file, a folder, or a zip unpacked into a temporary folder."""

from __future__ import annotations

import contextlib
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from odet_ros.labels.archive import extract_zip
from odet_ros.labels.errors import LabelFormatError


@dataclass(frozen=True)
class LabelSource:
    """``path`` is what readers read; ``origin`` is what the user named (a zip, for one
    unpacked), so that errors name ``archive.zip:member`` rather than a temporary path."""

    path: Path
    origin: Path

    def describe(self, file: Path) -> str:
        if self.path == self.origin:
            return str(file)
        return f"{self.origin}:{file.relative_to(self.path).as_posix()}"

    def files(self, *suffixes: str) -> list[Path]:
        """Files with these suffixes: the source itself, or those in its folder tree (sorted)."""
        if self.path.is_file():
            return [self.path] if self.path.suffix.lower() in suffixes else []
        return sorted(
            p
            for p in self.path.rglob("*")
            if p.suffix.lower() in suffixes and p.is_file() and not p.name.startswith(".")
        )

    def one_file(self, *suffixes: str, preferred: str | None = None) -> Path:
        """The single file with these suffixes (or the one named ``preferred``)."""
        found = self.files(*suffixes)
        if preferred is not None:
            named = [p for p in found if p.name == preferred]
            found = named or found
        if len(found) != 1:
            what = "no" if not found else f"{len(found)}"
            raise LabelFormatError(
                f"{self.origin}: expected one {'/'.join(suffixes)} file, found {what}"
            )
        return found[0]


@contextlib.contextmanager
def open_source(path: str | Path) -> Iterator[LabelSource]:
    """A LabelSource for ``path``; a zip is unpacked (safely) for the duration of the block."""
    path = Path(path).expanduser()
    if not path.exists():
        raise LabelFormatError(f"{path}: no such file or folder")
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="odet-labels-") as folder:
            extract_zip(path, Path(folder))
            yield LabelSource(Path(folder), path)
    else:
        yield LabelSource(path, path)
