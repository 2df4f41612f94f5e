"""`odet dataset check`: what would make training fail or learn the wrong thing, with file and line.

Errors (non-zero exit): label lines that are not five numbers (or a polygon: class and three
x, y pairs or more), box and polygon lines in one file (Ultralytics drops such a file), class ids
not in data.yaml, coordinates outside [0, 1] (a polygon's points: outside the 1% margin
Ultralytics accepts), boxes of zero or negative size, degenerate polygons (fewer than three
distinct points, or no area), unreadable or zero-byte images, and,
once the dataset is split, val or test images with a near twin in train (the same view give or
take a small pan: a score measured on them is inflated, silently, which is worse than no score).
Warnings: duplicate boxes, heavy overlap between boxes of one class, boxes or polygons reaching
past the image, label files without an image, identical images under two names (they leak across a
split), pre-labels nobody reviewed. Images without a label file are background images: listed,
not faulted (Ultralytics trains on them as such).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.dataset.split import split_files
from odet_ros.labels.boxes import cxcywh_to_xyxy, iou_matrix
from odet_ros.labels.polygons import Polygon, degenerate
from odet_ros.labels.yolo import parse_yolo
from odet_ros.sampling.similarity import TwinView, decoded_twin_view, near_twins

ERROR, WARNING = "error", "warning"
EDGE_TOLERANCE = 1e-6  # label files keep 6 decimals
POLYGON_MARGIN = 0.01  # Ultralytics accepts polygon points up to 1% outside the image


@dataclass(frozen=True)
class Finding:
    """One problem; ``file`` is relative to the dataset, ``line`` 1-based where it applies."""

    level: str
    file: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{self.level}: {where}: {self.message}"


@dataclass(frozen=True)
class CheckSettings:
    overlap_iou: float = 0.9  # boxes of one class overlapping more than this are reported


@dataclass
class ImageLabelRows:
    """The usable boxes of one label file: class ids and normalised cx, cy, w, h."""

    class_ids: NDArray[np.int64]
    cxcywh: NDArray[np.float64]


@dataclass(frozen=True)
class Twin:
    """A val or test image and the train image it nearly repeats."""

    image: str  # file name in images/
    split: str
    train_image: str
    difference: float  # aligned mean grey difference, 0-255


@dataclass
class CheckResult:
    """Findings, plus what the statistics need (image sizes, boxes by image file) and the near
    twins across splits."""

    findings: list[Finding] = field(default_factory=list)
    background: list[str] = field(default_factory=list)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    boxes: dict[str, ImageLabelRows] = field(default_factory=dict)
    images: int = 0
    twins: list[Twin] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == WARNING]


def check_dataset(
    dataset: Dataset, settings: CheckSettings | None = None, progress: bool = False
) -> CheckResult:
    """Check every image and label file of ``dataset``."""
    settings = settings or CheckSettings()
    result = CheckResult()
    try:
        names = dataset.names()
    except DatasetError as error:
        result.findings.append(Finding(ERROR, "data.yaml", str(error)))
        names = []
    images = dataset.image_paths()
    result.images = len(images)
    stems = {path.stem: path for path in images}
    views = _check_images(dataset, images, result, progress)
    for label in sorted(dataset.labels_dir.glob("*.txt")) if dataset.labels_dir.is_dir() else []:
        relative = f"labels/{label.name}"
        if label.stem not in stems:
            result.findings.append(Finding(WARNING, relative, "label file without an image"))
            continue
        rows = _check_label_file(label, relative, len(names), settings, result.findings)
        result.boxes[stems[label.stem].name] = rows
    result.background = [p.name for p in images if not dataset.label_path(p).is_file()]
    result.twins = _twins_across_splits(dataset, views)
    for twin in result.twins:
        result.findings.append(
            Finding(
                ERROR,
                f"images/{twin.image}",
                f"{twin.split} image nearly repeats train image images/{twin.train_image}"
                f" (difference {twin.difference:.1f}): it inflates the {twin.split} score",
            )
        )
    prelabels = Prelabels.load(dataset)
    if len(prelabels):
        result.findings.append(
            Finding(
                WARNING,
                dataset.prelabels_path.name,
                f"{len(prelabels)} label files are model pre-labels nobody reviewed yet",
            )
        )
    return result


def _check_images(
    dataset: Dataset, images: list[Path], result: CheckResult, progress: bool
) -> dict[str, TwinView]:
    """Read every image once; returns each readable image's view signature and thumbnail."""
    by_hash: dict[str, list[str]] = defaultdict(list)
    views = {}
    for path in tqdm(images, desc="images", unit="img", disable=not progress):
        relative = f"images/{path.name}"
        data = path.read_bytes()
        if not data:
            result.findings.append(Finding(ERROR, relative, "zero-byte image"))
            continue
        by_hash[hashlib.sha1(data).hexdigest()].append(relative)
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if image is None:
            result.findings.append(Finding(ERROR, relative, "unreadable image"))
            continue
        result.sizes[path.name] = (image.shape[1], image.shape[0])
        view = decoded_twin_view(image)
        if view is not None:
            views[path.name] = view
    for copies in by_hash.values():
        if len(copies) > 1:
            others = ", ".join(copies[1:])
            result.findings.append(
                Finding(WARNING, copies[0], f"identical image under other names: {others}")
            )
    return views


def _twins_across_splits(dataset: Dataset, views: dict[str, TwinView]) -> list[Twin]:
    """Val and test images with a near twin in train (none before the dataset is split)."""
    train = [p.name for p in split_files(dataset, "train") if p.name in views]
    twins = []
    for split in ("val", "test"):
        held_out = [p.name for p in split_files(dataset, split) if p.name in views]
        found = near_twins(_stacked(views, held_out), _stacked(views, train))
        twins += [Twin(held_out[q], split, train[r], difference) for q, r, difference in found]
    return twins


def _stacked(
    views: dict[str, TwinView], names: list[str]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    if not names:
        return np.zeros((0, 1), np.float32), np.zeros((0, 1, 1), np.float32)
    return np.stack([views[n][0] for n in names]), np.stack([views[n][1] for n in names])


def _check_label_file(
    path: Path, relative: str, classes: int, settings: CheckSettings, findings: list[Finding]
) -> ImageLabelRows:
    """Findings of one label file; returns its rows that are fit for statistics."""
    try:
        parsed = parse_yolo(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        findings.append(Finding(ERROR, relative, "not a text file"))
        return ImageLabelRows(np.zeros(0, np.int64), np.zeros((0, 4)))
    findings.extend(Finding(ERROR, relative, problem, line) for line, problem in parsed.problems)
    rows, lines = parsed.rows, parsed.lines
    class_ids, values = rows[:, 0], rows[:, 1:]
    problems: list[tuple[NDArray[np.bool_], Callable[[int], str]]] = [
        (
            (class_ids != np.floor(class_ids)) | (class_ids < 0) | (class_ids >= classes),
            lambda i: f"unknown class id {class_ids[i]:g} (data.yaml has {classes} classes)",
        ),
        *(_box_problems(values) if parsed.polygons is None else _polygon_problems(parsed.polygons)),
    ]
    bad = np.zeros(len(rows), bool)
    for mask, describe in problems:
        for index in np.flatnonzero(mask & ~bad):
            findings.append(Finding(ERROR, relative, describe(int(index)), int(lines[index])))
        bad |= mask
    good = ~bad
    xyxy = cxcywh_to_xyxy(values[good])
    outside = np.any((xyxy < -EDGE_TOLERANCE) | (xyxy > 1 + EDGE_TOLERANCE), axis=1)
    shape = "box" if parsed.polygons is None else "polygon"
    for index in np.flatnonzero(outside):
        line = int(lines[good][index])
        findings.append(Finding(WARNING, relative, f"{shape} reaches outside the image", line))
    ids = class_ids[good].astype(np.int64)
    findings.extend(_overlaps(ids, xyxy, lines[good], relative, settings.overlap_iou))
    return ImageLabelRows(ids, values[good])


def _box_problems(
    values: NDArray[np.float64],
) -> list[tuple[NDArray[np.bool_], Callable[[int], str]]]:
    """Box rows (cx, cy, w, h) outside the image or without size."""
    return [
        (
            np.any((values < 0) | (values > 1), axis=1),
            lambda i: f"coordinates outside [0, 1]: {' '.join(f'{v:g}' for v in values[i])}",
        ),
        (
            np.any(values[:, 2:] <= 0, axis=1),
            lambda i: f"zero or negative size: w {values[i, 2]:g}, h {values[i, 3]:g}",
        ),
    ]


def _polygon_problems(
    polygons: list[Polygon],
) -> list[tuple[NDArray[np.bool_], Callable[[int], str]]]:
    """Polygon rows with points outside the image (beyond Ultralytics' margin), or with no area."""
    low, high = -POLYGON_MARGIN, 1 + POLYGON_MARGIN
    outside = np.array([bool(np.any((p < low) | (p > high))) for p in polygons], bool)
    flat = np.array([degenerate(p) for p in polygons], bool)

    def first_outside(i: int) -> str:
        x, y = polygons[i][np.any((polygons[i] < low) | (polygons[i] > high), axis=1)][0]
        return f"polygon outside the image: point {x:g} {y:g} (normalised coordinates)"

    return [
        (outside, first_outside),
        (
            flat,
            lambda i: (
                f"degenerate polygon: {len(np.unique(polygons[i], axis=0))} distinct"
                " points, no area"
            ),
        ),
    ]


def _overlaps(
    class_ids: NDArray[np.int64],
    xyxy: NDArray[np.float64],
    lines: NDArray[np.int64],
    relative: str,
    threshold: float,
) -> list[Finding]:
    """Duplicate boxes and boxes of one class overlapping above ``threshold`` IoU."""
    findings: list[Finding] = []
    if len(xyxy) < 2:
        return findings
    same_class = class_ids[:, None] == class_ids[None, :]
    pairs = np.triu(same_class, k=1)
    identical = pairs & np.all(np.abs(xyxy[:, None] - xyxy[None]) < EDGE_TOLERANCE, axis=2)
    iou = iou_matrix(xyxy, xyxy)
    heavy = pairs & ~identical & (iou > threshold)
    for first, second in zip(*np.nonzero(identical), strict=True):
        findings.append(
            Finding(WARNING, relative, f"duplicate of line {lines[first]}", int(lines[second]))
        )
    for first, second in zip(*np.nonzero(heavy), strict=True):
        findings.append(
            Finding(
                WARNING,
                relative,
                f"overlaps line {lines[first]} of the same class (IoU {iou[first, second]:.2f})",
                int(lines[second]),
            )
        )
    return findings
