"""`odet dataset import`: labels from a labelling tool's export back onto the dataset's images.

Images are matched by name: the same file name (any extension, or as a Roboflow export renames
it), else, for odet frame names
(:func:`~odet_ros.dataset.naming.frame_stem`), the same topic and stamp (a tool may have renamed
the bag part or the extension, and the export may have kept only some of the frames: the rest
are counted as unmatched, not as errors). The whole source is read and checked before a single
label file is written.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np
from numpy.typing import NDArray

from odet_ros.dataset.annotations import write_label_file
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.naming import parse_frame_stem
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.imaging.files import IMAGE_SUFFIXES
from odet_ros.labels.boxes import area
from odet_ros.labels.classes import map_classes
from odet_ros.labels.formats import read_labels
from odet_ros.labels.model import LabelSet
from odet_ros.labels.polygons import Polygon, bounds, clip_polygons

LOG = logging.getLogger(__name__)
# Label files keep 6 decimals, so a box touching the border may end 5e-7 past it: not clipped.
EDGE_TOLERANCE = 1e-6
UNIT_WINDOW = (0.0, 0.0, 1.0, 1.0)
# Roboflow exports name each image <stem>_<extension>.rf.<32 hex digits>.<extension>
ROBOFLOW_EXPORT = re.compile(r"^(?P<stem>.+)_[A-Za-z0-9]+\.rf\.[0-9a-f]{32}$")


def image_stem(name: str) -> str:
    """A source image name without folders and without an image extension."""
    base = PurePosixPath(name.replace("\\", "/")).name
    suffix = PurePosixPath(base).suffix
    return base[: -len(suffix)] if suffix.lower() in IMAGE_SUFFIXES else base


class ImageMatcher:
    """Finds the dataset image a source image name refers to."""

    def __init__(self, files: list[str]) -> None:
        self.by_stem = {image_stem(f): f for f in files}
        self.by_frame: dict[tuple[str, int], list[tuple[str, str]]] = defaultdict(list)
        for stem, file in self.by_stem.items():
            try:
                bag, topic, stamp = parse_frame_stem(stem)
            except ValueError:
                continue
            self.by_frame[topic, stamp].append((bag, file))

    def match(self, name: str) -> str | None:
        stem = image_stem(name)
        if stem in self.by_stem:
            return self.by_stem[stem]
        renamed = ROBOFLOW_EXPORT.match(stem)
        if renamed is not None and renamed["stem"] in self.by_stem:
            return self.by_stem[renamed["stem"]]
        try:
            bag, topic, stamp = parse_frame_stem(stem)
        except ValueError:
            return None
        candidates = self.by_frame.get((topic, stamp), [])
        if len(candidates) > 1:  # the same camera and stamp in two bags: the bag must match
            candidates = [c for c in candidates if c[0] == bag]
        return candidates[0][1] if len(candidates) == 1 else None


@dataclass
class ImportReport:
    """What an import did: ``images`` labelled in the source, ``matched`` to dataset images."""

    images: int = 0
    matched: int = 0
    unmatched: list[str] = field(default_factory=list)
    boxes: int = 0
    clipped: int = 0  # boxes (outlines) reaching outside their image, cut to it
    empty: int = 0  # boxes with no area left inside the image, dropped
    names: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    dropped: int = 0  # boxes of classes mapped to nothing
    reviewed: int = 0  # pre-labels replaced by these labels
    skipped: Counter[str] = field(default_factory=Counter)
    shapes: str = "boxes"  # what was written: "boxes" or "outlines"


def import_labels(
    dataset: Dataset,
    label_format: str,
    source: str | Path,
    mapping: dict[str, str | None] | None = None,
    boxes_only: bool = False,
) -> ImportReport:
    """Read ``source`` in ``label_format`` and write the labels of the matched images (the
    source's boxes without their outlines with ``boxes_only``)."""
    labels = read_labels(label_format, source)
    return import_label_set(dataset, labels, str(source), mapping, boxes_only)


def import_label_set(
    dataset: Dataset,
    labels: LabelSet,
    source: str,
    mapping: dict[str, str | None] | None = None,
    boxes_only: bool = False,
) -> ImportReport:
    """Write ``labels`` (read from ``source``) onto the dataset's matched images."""
    if boxes_only:
        labels = replace(labels, images=[replace(i, polygons=None) for i in labels.images])
    mapped = map_classes(labels, dataset.names(), mapping)
    matcher = ImageMatcher([path.name for path in dataset.image_paths()])
    report = ImportReport(
        images=len(labels.images),
        names=mapped.names,
        added=mapped.added,
        dropped=mapped.dropped,
        skipped=labels.skipped,
    )
    planned: dict[str, tuple[NDArray[np.int64], NDArray[np.float64], list[Polygon] | None]] = {}
    for image in mapped.labels.images:
        file = matcher.match(image.name)
        if file is None:
            report.unmatched.append(image.name)
            continue
        if file in planned:
            LOG.warning("%s: labelled twice in %s; the later labels are kept", file, source)
        outside = (image.xyxy < -EDGE_TOLERANCE) | (image.xyxy > 1 + EDGE_TOLERANCE)
        clipped = np.where(outside, np.clip(image.xyxy, 0.0, 1.0), image.xyxy)
        changed = np.any(outside, axis=1).astype(bool)
        keep = area(clipped) > 0
        outlines = None
        if image.polygons is not None:
            cut, keep = clip_polygons(image.polygons, UNIT_WINDOW)
            outlines = [
                c if o else p for c, p, o in zip(cut, image.polygons, changed.tolist(), strict=True)
            ]
            clipped = bounds(outlines)
            outlines = [p for p, k in zip(outlines, keep, strict=True) if k]
        report.clipped += int((changed & keep).sum())
        report.empty += int((~keep).sum())
        planned[file] = (image.class_ids[keep], clipped[keep], outlines)
    report.matched = len(planned)
    prelabels = Prelabels.load(dataset)
    for file, (class_ids, xyxy, polygons) in planned.items():
        path = write_label_file(dataset, file, class_ids, xyxy, polygons)
        if polygons is not None:
            report.shapes = "outlines"
        report.reviewed += prelabels.unmark(path.name)
        report.boxes += len(class_ids)
    prelabels.save()
    if mapped.added or not dataset.data_yaml.is_file():
        dataset.write_data_yaml(mapped.names)
    return report
