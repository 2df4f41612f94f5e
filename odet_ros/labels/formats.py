"""The label formats by name, what each reads and writes, and where written files go."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from odet_ros.atomic import write_bytes_atomic
from odet_ros.labels.coco import encode_coco, read_coco
from odet_ros.labels.cvat import encode_cvat, read_cvat
from odet_ros.labels.errors import LabelFormatError
from odet_ros.labels.labelstudio import encode_labelstudio, read_labelstudio
from odet_ros.labels.model import LabelSet
from odet_ros.labels.source import LabelSource, open_source
from odet_ros.labels.voc import encode_voc, read_voc
from odet_ros.labels.yolo import encode_yolo, encode_yolo11, read_yolo


@dataclass(frozen=True)
class LabelFormat:
    """A format: ``read`` a source into a LabelSet, ``encode`` one into named files."""

    name: str
    read: Callable[[LabelSource], LabelSet]
    encode: Callable[..., dict[str, bytes]]


FORMATS = {
    f.name: f
    for f in (
        LabelFormat("yolo", read_yolo, encode_yolo),  # also reads Roboflow, LabelImg, CVAT YOLO
        LabelFormat("yolo1.1", read_yolo, encode_yolo11),  # CVAT/Darknet package
        LabelFormat("coco", read_coco, encode_coco),
        LabelFormat("voc", read_voc, encode_voc),
        LabelFormat("cvat", read_cvat, encode_cvat),
        LabelFormat("labelstudio", read_labelstudio, encode_labelstudio),
    )
}


def label_format(name: str) -> LabelFormat:
    if name not in FORMATS:
        raise LabelFormatError(f"unknown label format {name!r}; known: {', '.join(FORMATS)}")
    return FORMATS[name]


def read_labels(name: str, path: str | Path) -> LabelSet:
    """Read a file, folder or zip in format ``name``; the whole source is parsed (and any error
    raised) before the caller writes anything."""
    with open_source(path) as source:
        return label_format(name).read(source)


def write_labels(name: str, labels: LabelSet, out: str | Path, **options: object) -> list[Path]:
    """Write ``labels`` in format ``name`` to ``out``: a ``.zip`` archive, the file itself when
    the format makes one file of ``out``'s suffix (``coco.json``), else a folder. Every file is
    written under a temporary name and renamed; returns the paths written."""
    files = label_format(name).encode(labels, **options)
    out = Path(out).expanduser()
    if out.suffix.lower() == ".zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, data in sorted(files.items()):
                archive.writestr(member, data)
        return [_write(out, buffer.getvalue())]
    if len(files) == 1 and out.suffix and PurePosixPath(next(iter(files))).suffix == out.suffix:
        return [_write(out, next(iter(files.values())))]
    if out.exists() and not out.is_dir():
        raise LabelFormatError(f"{out}: exists and is not a folder")
    return [_write(out.joinpath(*PurePosixPath(m).parts), data) for m, data in files.items()]


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)
    return path
