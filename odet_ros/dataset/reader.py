"""Read one split of a dataset in the Ultralytics YOLO layout: what training, int8 calibration
and evaluation all read, so that they agree on the images and labels of each split.

A dataset is a ``data.yaml`` (or a folder holding one) with ``names`` (a list, or a dict keyed
0..n-1), an optional ``path`` (the root; a relative one is taken from the YAML's folder, not from
Ultralytics' ``datasets_dir``) and ``train`` / ``val`` / ``test``, each an image folder, a text file
listing image paths (relative ones are taken from the list's folder) or a list of those. A split
the YAML does not name is looked for at ``<root>/<split>.txt``, ``<root>/images/<split>`` and
``<root>/<split>/images``. Each image's labels sit where Ultralytics looks for them: the last
``/images/`` of its path replaced by ``/labels/`` and the suffix by ``.txt``; one
``class cx cy w h`` row per box, normalised to the image, or one polygon row ``class x1 y1 x2 y2
...`` per outline (the box is its bounds; the outline is kept for mask scores). A missing label
file means an image with no objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import yaml
from numpy.typing import NDArray

from odet_ros.dataset.errors import DatasetError
from odet_ros.imaging.files import IMAGE_SUFFIXES
from odet_ros.labels.polygons import rectangle

SPLITS = ("train", "val", "test")
YAML_NAMES = ("data.yaml", "dataset.yaml")
COORD_TOLERANCE = 0.01  # Ultralytics accepts normalised coordinates up to 1.01


class GroundTruth(NamedTuple):
    """The labelled boxes of one image: ``xyxy`` (M, 4) float64 pixels, ``class_ids`` (M,) int64,
    and where the labels are polygons, each object's outline in pixels (else None)."""

    xyxy: NDArray[np.float64]
    class_ids: NDArray[np.int64]
    polygons: list[NDArray[np.float64]] | None = None

    @classmethod
    def empty(cls) -> GroundTruth:
        return cls(np.zeros((0, 4), np.float64), np.zeros(0, np.int64))


@dataclass(frozen=True)
class Sample:
    """One image of a split and the label file that describes it (which may not exist)."""

    image: Path
    labels: Path

    def ground_truth(self, width: int, height: int, num_classes: int) -> GroundTruth:
        """The image's boxes in pixels of an image ``width`` x ``height``."""
        return read_labels(self.labels, width, height, num_classes)


@dataclass(frozen=True)
class DatasetSplit:
    """The images of one split, with the dataset's class names."""

    yaml_file: Path
    split: str
    names: list[str]
    samples: list[Sample]


def load_split(data: str | Path, split: str = "val") -> DatasetSplit:
    """Open ``split`` of the dataset ``data`` (a data.yaml, or a folder holding one)."""
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    yaml_file = find_yaml(Path(data).expanduser())
    config = _read_yaml(yaml_file)
    names = class_names(config, yaml_file)
    root = _root(config, yaml_file)
    sources = _split_sources(config, split, root, yaml_file)
    images = sorted({image for source in sources for image in _images(source, yaml_file)})
    if not images:
        shown = ", ".join(str(s) for s in sources)
        raise DatasetError(f"{yaml_file}: split {split!r} has no images (looked in {shown})")
    samples = [Sample(image, label_path(image)) for image in images]
    return DatasetSplit(yaml_file, split, names, samples)


def find_yaml(data: Path) -> Path:
    """The dataset YAML that ``data`` names: itself, or the data.yaml inside a folder."""
    if data.is_dir():
        for name in YAML_NAMES:
            if (data / name).is_file():
                return data / name
        raise DatasetError(f"{data}: no {' or '.join(YAML_NAMES)} in this dataset folder")
    if not data.is_file():
        raise DatasetError(f"{data}: no such dataset file or folder")
    return data


def _read_yaml(yaml_file: Path) -> dict[str, Any]:
    try:
        config = yaml.safe_load(yaml_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise DatasetError(f"{yaml_file}: cannot read: {error}") from error
    if not isinstance(config, dict):
        raise DatasetError(f"{yaml_file}: expected a mapping with names and splits")
    return config


def class_names(config: dict[str, Any], yaml_file: Path) -> list[str]:
    """``names`` as a list (or ``nc`` alone, as Ultralytics takes it); none is an error."""
    if config.get("names") is None and isinstance(config.get("nc"), int):
        return [f"class_{i}" for i in range(config["nc"])]
    names = parse_names(config, yaml_file)
    if not names:
        raise DatasetError(f"{yaml_file}: names must be a non-empty list or dict of class names")
    if "nc" in config and config["nc"] != len(names):
        raise DatasetError(f"{yaml_file}: nc is {config['nc']} but names has {len(names)} classes")
    return names


def parse_names(config: dict[str, Any], yaml_file: Path) -> list[str]:
    """``names`` from a list or a dict keyed 0..n-1; absent or empty gives an empty list."""
    names = config.get("names") or []
    if isinstance(names, dict):
        try:
            keyed = {int(k): str(v) for k, v in names.items()}
        except (TypeError, ValueError):
            raise DatasetError(f"{yaml_file}: names keys must be class ids 0..n-1") from None
        if sorted(keyed) != list(range(len(keyed))):
            raise DatasetError(
                f"{yaml_file}: names keys must be 0..{len(keyed) - 1}, not {sorted(keyed)}"
            )
        return [keyed[i] for i in range(len(keyed))]
    if not isinstance(names, list):
        raise DatasetError(f"{yaml_file}: names must be a list or a mapping of class names")
    return [str(n) for n in names]


def _root(config: dict[str, Any], yaml_file: Path) -> Path:
    path = config.get("path")
    if not path:
        return yaml_file.parent
    root = Path(str(path)).expanduser()
    return root if root.is_absolute() else yaml_file.parent / root


def _split_sources(config: dict[str, Any], split: str, root: Path, yaml_file: Path) -> list[Path]:
    entry = config.get(split)
    if entry:
        entries = entry if isinstance(entry, list) else [entry]
        sources = [_under(root, str(e)) for e in entries]
        missing = [s for s in sources if not s.exists()]
        if missing:
            raise DatasetError(f"{yaml_file}: {split}: {missing[0]} does not exist")
        return sources
    candidates = [root / f"{split}.txt", root / "images" / split, root / split / "images"]
    for candidate in candidates:
        if candidate.exists():
            return [candidate]
    tried = ", ".join(str(c) for c in candidates)
    raise DatasetError(f"{yaml_file}: no {split!r} split: not in the YAML, nor at {tried}")


def _under(folder: Path, entry: str) -> Path:
    path = Path(entry).expanduser()
    return path if path.is_absolute() else folder / path


def _images(source: Path, yaml_file: Path) -> list[Path]:
    if source.is_dir():
        return [p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    try:
        lines = source.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{source}: cannot read the image list: {error}") from error
    listed = [_under(source.parent, line.strip()) for line in lines if line.strip()]
    return [p for p in listed if p.suffix.lower() in IMAGE_SUFFIXES]


def label_path(image: Path) -> Path:
    """Where Ultralytics looks for an image's labels: ``images/x.jpg`` -> ``labels/x.txt``."""
    head, sep, tail = str(image).rpartition(f"{os.sep}images{os.sep}")
    swapped = f"{head}{os.sep}labels{os.sep}{tail}" if sep else str(image)
    return Path(swapped).with_suffix(".txt")


def read_labels(path: Path, width: int, height: int, num_classes: int) -> GroundTruth:
    """Boxes of a YOLO label file in pixels; duplicate rows dropped (as Ultralytics does)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return GroundTruth.empty()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: cannot read: {error}") from error
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        return GroundTruth.empty()
    rows = [_parse_row(path, n, line) for n, line in numbered]
    outlined = any(len(row) > 5 for row in rows)
    labels = np.array([_box_row(row) for row in rows], np.float64)
    _check_rows(path, labels, [n for n, _ in numbered], num_classes)
    # duplicate rows dropped, as Ultralytics does (distinct polygons may share a box)
    keys = [np.array(row, np.float64).tobytes() for row in rows]
    first = np.sort(np.unique(keys, return_index=True)[1])
    labels = labels[first]
    cx, cy, w, h = labels[:, 1:].T
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    size = np.array([width, height, width, height], np.float64)
    pixels = np.clip(xyxy * size, 0.0, size)  # inside the image, as Ultralytics' val clips
    polygons = None
    if outlined:
        scale = size[:2]
        polygons = [
            _outline(rows[i]) * scale if len(rows[i]) > 5 else rectangle(pixels[k])
            for k, i in enumerate(first.tolist())
        ]
    return GroundTruth(pixels, labels[:, 0].astype(np.int64), polygons)


def _parse_row(path: Path, number: int, line: str) -> list[float]:
    """One label row's numbers: (class, cx, cy, w, h) or (class, x1, y1, x2, y2, ...)."""
    fields = line.split()
    try:
        values = [float(v) for v in fields]
    except ValueError:
        raise DatasetError(f"{path}:{number}: not numbers: {line.strip()!r}") from None
    if len(values) == 5 or (len(values) >= 7 and len(values) % 2 == 1):
        return values
    raise DatasetError(
        f"{path}:{number}: expected 'class cx cy w h' (or a polygon), got {len(values)} fields"
    )


def _outline(row: list[float]) -> NDArray[np.float64]:
    return np.array(row[1:], np.float64).reshape(-1, 2)


def _box_row(row: list[float]) -> list[float]:
    """A row as (class, cx, cy, w, h): a polygon row becomes its bounding box."""
    if len(row) == 5:
        return row
    (x1, y1), (x2, y2) = _outline(row).min(0), _outline(row).max(0)
    return [row[0], (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]


def _check_rows(
    path: Path, labels: NDArray[np.float64], lines: list[int], num_classes: int
) -> None:
    classes, coords = labels[:, 0], labels[:, 1:]
    bad_class = (classes % 1 != 0) | (classes < 0) | (classes >= num_classes)
    bad_coords = (coords > 1 + COORD_TOLERANCE).any(1) | (coords < -COORD_TOLERANCE).any(1)
    for bad, what in (
        (bad_class, f"class id outside 0..{num_classes - 1}"),
        (bad_coords, "coordinates not normalised to 0-1"),
    ):
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            values = " ".join(f"{v:g}" for v in labels[row])
            raise DatasetError(f"{path}:{lines[row]}: {what}: {values}")
