"""`odet dataset split`: train/val/test by whole groups, every class in every split where it can.

Frames of one sequence are near-identical, so a random split (Ultralytics' ``autosplit``) puts
copies of training frames into val and inflates the scores. Here the unit is the manifest's
group: a group goes whole into one split. Two passes, in an order fixed by the seed:

1. coverage: train, then val, then test, takes for each class it lacks (rarest first) the
   smallest unassigned group holding it; val and test only within their share of the images
   (an empty split always takes one), so covering them never starves train, and never with
   the last groups an empty later split needs;
2. fill: the other groups, largest first, go to the split furthest below its share of images.

Derived images (augmented copies) follow their source's group but only into train: a copy of a
training image in val is exactly the leak this avoids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from odet_ros.atomic import write_text_atomic
from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import read_manifest
from odet_ros.dataset.reader import SPLITS
from odet_ros.labels.yolo import parse_yolo

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitSettings:
    ratios: tuple[float, float, float] = (0.7, 0.2, 0.1)  # train, val, test
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.ratios) != 3 or min(self.ratios) < 0 or self.ratios[0] <= 0:
            raise DatasetError(f"split ratios must be three numbers >= 0, train > 0: {self.ratios}")
        if self.ratios[1] <= 0:
            raise DatasetError("the val ratio must be > 0 (Ultralytics needs a val split)")


@dataclass
class SplitPlan:
    """Split of each group, and per split: images, groups and instances per class."""

    group_split: dict[str, str]
    images: dict[str, list[str]]
    groups: dict[str, int]
    instances: dict[str, NDArray[np.int64]]
    uncovered: list[tuple[int, str]] = field(default_factory=list)  # (class, split)
    largest_group: tuple[str, int] = ("", 0)  # its name and images: a share too large to split


@dataclass(frozen=True)
class ImageEntry:
    file: str
    group: str
    class_ids: NDArray[np.int64]
    derived: bool = False


def plan_split(entries: list[ImageEntry], classes: int, settings: SplitSettings) -> SplitPlan:
    """Assign whole groups to splits (see the module docstring)."""
    active = [s for s, r in zip(SPLITS, settings.ratios, strict=True) if r > 0]
    ratios = np.array([r for r in settings.ratios if r > 0], np.float64)
    ratios /= ratios.sum()
    sources = [e for e in entries if not e.derived]
    names = sorted({e.group for e in sources})
    order = np.random.default_rng(settings.seed).permutation(len(names))
    groups = [names[i] for i in order]
    row = {g: i for i, g in enumerate(groups)}
    counts = np.zeros((len(groups), classes), np.int64)
    sizes = np.zeros(len(groups), np.int64)
    for entry in sources:
        sizes[row[entry.group]] += 1
        np.add.at(counts[row[entry.group]], entry.class_ids[entry.class_ids < classes], 1)
    assigned = np.full(len(groups), -1)
    split_counts = np.zeros((len(active), classes), np.int64)
    split_sizes = np.zeros(len(active), np.int64)

    def assign(group: int, split: int) -> None:
        assigned[group] = split
        split_counts[split] += counts[group]
        split_sizes[split] += sizes[group]

    holders = (counts > 0).sum(axis=0)
    target = ratios * sizes.sum()
    uncovered = []
    for split in range(len(active)):
        for class_id in sorted(range(classes), key=lambda c: (holders[c], c)):
            if split_counts[split, class_id] or not holders[class_id]:
                continue
            candidates = np.flatnonzero((assigned < 0) & (counts[:, class_id] > 0))
            if split > 0 and split_sizes[split]:  # val/test: only within their share
                candidates = candidates[split_sizes[split] + sizes[candidates] <= target[split]]
            later_empty = int((split_sizes[split + 1 :] == 0).sum())
            if split_sizes[split] and (assigned < 0).sum() <= later_empty:
                candidates = candidates[:0]  # the last groups are kept for the empty splits
            if not len(candidates):
                uncovered.append((class_id, active[split]))
                continue
            assign(candidates[np.argmin(sizes[candidates])], split)
    remaining = np.flatnonzero(assigned < 0)
    for group in remaining[np.argsort(-sizes[remaining], kind="stable")]:
        deficit = ratios * sizes.sum() - split_sizes
        assign(group, int(np.argmax(deficit)))
    group_split = {g: active[assigned[row[g]]] for g in groups}
    images: dict[str, list[str]] = {s: [] for s in active}
    for entry in entries:
        chosen = group_split.get(entry.group)
        if chosen is None or (entry.derived and chosen != "train"):
            continue
        images[chosen].append(entry.file)
    largest = int(np.argmax(sizes)) if len(sizes) else -1
    return SplitPlan(
        group_split=group_split,
        images={s: sorted(files) for s, files in images.items()},
        groups={s: int((assigned == i).sum()) for i, s in enumerate(active)},
        instances={s: split_counts[i] for i, s in enumerate(active)},
        uncovered=uncovered,
        largest_group=(groups[largest], int(sizes[largest])) if largest >= 0 else ("", 0),
    )


def dataset_entries(dataset: Dataset) -> list[ImageEntry]:
    """Every image with its group (from the manifest; an image missing there is its own group)
    and the class ids of its label file."""
    rows = {row.file: row for row in read_manifest(dataset.manifest_path)}
    entries, ungrouped = [], 0
    for path in dataset.image_paths():
        row = rows.get(path.name)
        if row is None:
            ungrouped += 1
        label = dataset.label_path(path)
        class_ids = np.zeros(0, np.int64)
        if label.is_file():
            parsed = parse_yolo(label.read_text(encoding="utf-8"))
            class_ids = parsed.rows[:, 0].astype(np.int64)
        entries.append(
            ImageEntry(
                path.name,
                row.group if row else f"image:{path.name}",
                class_ids,
                derived=bool(row and row.origin),
            )
        )
    if ungrouped:
        LOG.warning(
            "%d images are not in %s: each is a group of its own", ungrouped, dataset.manifest_path
        )
    return entries


def split_dataset(dataset: Dataset, settings: SplitSettings | None = None) -> SplitPlan:
    """Split ``dataset`` and write the lists (absolute image paths) and data.yaml."""
    settings = settings or SplitSettings()
    names = dataset.names()
    entries = dataset_entries(dataset)
    if not entries:
        raise DatasetError(f"{dataset.root}: no images to split")
    plan = plan_split(entries, len(names), settings)
    for split in SPLITS:
        path = dataset.split_list(split)
        if split in plan.images:
            lines = "".join(f"{dataset.image_path(f)}\n" for f in plan.images[split])
            write_text_atomic(path, lines)
        else:
            path.unlink(missing_ok=True)
    dataset.write_data_yaml(names)
    return plan


def split_files(dataset: Dataset, split: str) -> list[Path]:
    """The images listed in a split's list file ([] if the dataset was not split)."""
    path = dataset.split_list(split)
    if not path.is_file():
        return []
    return [Path(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
