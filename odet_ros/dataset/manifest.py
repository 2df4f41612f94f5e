"""manifest.csv: one row per image, linking it to its source (bag, topic, stamp) and group.

The group ties together frames of one place (stretches of a bag without a long pause, joined
where they show one place, revisits included: :mod:`odet_ros.dataset.places`), so that
``odet dataset split`` never puts near-identical frames on both sides.
``origin`` is empty for frames exported from bags and names the source image of a derived one
(an augmented copy), which stays in its source's group. ``reasons`` says why the deployed model
asked for a frame (capture with ``select``, or `odet bag select`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields, replace
from pathlib import Path

from odet_ros.atomic import write_text_atomic
from odet_ros.dataset.errors import DatasetError


@dataclass(frozen=True)
class ManifestRow:
    """One image: ``file`` is its name in ``images/``; stamps are nanoseconds."""

    file: str
    bag: str
    topic: str
    stamp_ns: int
    receive_ns: int
    width: int
    height: int
    encoding: str
    group: str
    origin: str = ""
    reasons: str = ""  # why the deployed model asked for this frame ("unsure;novel"), if it did

    def sort_key(self) -> tuple[str, str, int, str]:
        return (self.bag, self.topic, self.stamp_ns, self.file)


COLUMNS = tuple(f.name for f in fields(ManifestRow))
OPTIONAL = ("origin", "reasons")  # columns a manifest of an older odet may not have
REQUIRED = tuple(name for name in COLUMNS if name not in OPTIONAL)


def read_manifest(path: Path) -> list[ManifestRow]:
    """The rows of a manifest ([] if the file does not exist); wrong columns are an error."""
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not a UTF-8 CSV file ({error})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if missing := [column for column in REQUIRED if column not in header]:
        raise DatasetError(
            f"{path}: wrong columns: {', '.join(missing)} missing (has {', '.join(header)};"
            f" needs {', '.join(REQUIRED)})"
        )
    rows = []
    for line, record in enumerate(reader, start=2):
        try:
            rows.append(_row(record))
        except (TypeError, ValueError):
            raise DatasetError(f"{path}:{line}: a stamp or size is not an integer") from None
    return rows


def _row(record: dict[str, str | None]) -> ManifestRow:
    """One CSV record as a row; a missing optional column is empty."""

    def text(name: str) -> str:
        return record.get(name) or ""

    def integer(name: str) -> int:
        value = record[name]
        if value is None:  # a line with fewer fields than the header
            raise TypeError(f"no {name}")
        return int(value)

    return ManifestRow(
        file=text("file"),
        bag=text("bag"),
        topic=text("topic"),
        stamp_ns=integer("stamp_ns"),
        receive_ns=integer("receive_ns"),
        width=integer("width"),
        height=integer("height"),
        encoding=text("encoding"),
        group=text("group"),
        origin=text("origin"),
        reasons=text("reasons"),
    )


def write_manifest(path: Path, rows: Iterable[ManifestRow]) -> None:
    """Write rows sorted by (bag, topic, stamp, file), atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(astuple(row) for row in sorted(rows, key=ManifestRow.sort_key))
    write_text_atomic(path, buffer.getvalue())


def merge_rows(old: Iterable[ManifestRow], new: Iterable[ManifestRow]) -> list[ManifestRow]:
    """Rows of both, a new row replacing an old one of the same file."""
    merged = {row.file: row for row in old}
    merged.update((row.file, row) for row in new)
    return sorted(merged.values(), key=ManifestRow.sort_key)


def derived_row(source: ManifestRow, file: str, width: int, height: int) -> ManifestRow:
    """The row of an image made from ``source`` (same bag, stamp and group)."""
    return replace(source, file=file, width=width, height=height, origin=source.file)
