"""`odet dataset split`: train/val/test by whole groups, every class in every split where it can.

Frames of one place are near-identical, so a random split (Ultralytics' ``autosplit``) puts
copies of training frames into val and inflates the scores. Here the unit is the manifest's
group (a place, :mod:`odet_ros.dataset.places`): a group goes whole into one split. Three passes,
in an order fixed by the seed:

1. coverage: train, then val, then test, takes for each class it lacks (rarest first) the
   smallest unassigned group holding it; val and test only within their share of the images
   (an empty split always takes one), so covering them never starves train, and never with
   the last groups an empty later split needs;
2. fill: the other groups, largest first, go to the split furthest below its share of images;
3. balance: groups move, or swap between two splits, while that brings the splits closer to
   their shares without taking a class away from a split.

Tolerance: each split ends within the largest group's size of its share of the images (a
split can only gain or lose whole groups), usually much closer. A group bigger than a split's
share cannot go there without overfilling it: the fill places it first, into the split with
the most room (train, at the default ratios), and `odet dataset split` says so.

Stable when frames are added: the split remembers its seed and ratios (``split.json``); run
again with the same ones, every group keeps the split its images already had (a group that
merged groups of two splits goes where most of its images were) and only new groups are placed.
Another seed or other ratios, or ``fresh``, split anew.

Derived images (augmented copies) follow their source's group but only into train: a copy of a
training image in val is exactly the leak this avoids.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator, Mapping
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
RECORD_FILE = "split.json"  # the seed and ratios of the dataset's split, to extend it alike


@dataclass(frozen=True)
class SplitSettings:
    ratios: tuple[float, float, float] = (0.7, 0.2, 0.1)  # train, val, test
    seed: int = 0
    fresh: bool = False  # ignore the split the dataset has (frames may change split)

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
    targets: dict[str, float] = field(default_factory=dict)  # images each split's ratio asks for
    kept_groups: int = 0  # groups that kept the split they had
    moved_images: int = 0  # images of merged groups that changed split to stay with their group

    @property
    def oversized(self) -> list[str]:
        """Splits the largest group would overfill on its own (share smaller than the group)."""
        return [split for split, target in self.targets.items() if self.largest_group[1] > target]


@dataclass(frozen=True)
class ImageEntry:
    file: str
    group: str
    class_ids: NDArray[np.int64]
    derived: bool = False


def plan_split(
    entries: list[ImageEntry],
    classes: int,
    settings: SplitSettings,
    previous: Mapping[str, str] | None = None,
) -> SplitPlan:
    """Assign whole groups to splits (see the module docstring); ``previous`` (image file ->
    split) fixes the groups it names."""
    active = [s for s, r in zip(SPLITS, settings.ratios, strict=True) if r > 0]
    ratios = np.array([r for r in settings.ratios if r > 0], np.float64)
    sources = [e for e in entries if not e.derived]
    names = sorted({e.group for e in sources})
    order = np.random.default_rng(settings.seed).permutation(len(names))
    groups = [names[i] for i in order]
    row = {g: i for i, g in enumerate(groups)}
    counts = np.zeros((len(groups), classes), np.int64)
    votes = np.zeros((len(groups), len(active)), np.int64)
    for entry in sources:
        np.add.at(counts[row[entry.group]], entry.class_ids[entry.class_ids < classes], 1)
        if previous and previous.get(entry.file) in active:
            votes[row[entry.group], active.index(previous[entry.file])] += 1
    sizes = np.bincount([row[e.group] for e in sources], minlength=len(groups)).astype(np.int64)
    plan = _Assignment(counts, sizes, ratios / ratios.sum() * sizes.sum())
    kept = np.flatnonzero(votes.sum(axis=1) > 0)
    for group in kept:
        plan.assign(int(group), int(np.argmax(votes[group])))  # ties: the earlier split
    moved = int(votes[kept].sum() - votes[kept, plan.assigned[kept]].sum())
    uncovered = plan.cover()
    plan.fill()
    plan.balance(np.isin(np.arange(len(groups)), kept, invert=True))
    group_split = {g: active[plan.assigned[row[g]]] for g in groups}
    images: dict[str, list[str]] = {s: [] for s in active}
    for entry in entries:
        chosen = group_split.get(entry.group)
        if chosen is None or (entry.derived and chosen != "train"):
            continue
        images[chosen].append(entry.file)
    largest = min(range(len(groups)), key=lambda g: (-sizes[g], groups[g]), default=-1)
    return SplitPlan(
        group_split=group_split,
        images={s: sorted(files) for s, files in images.items()},
        groups={s: int((plan.assigned == i).sum()) for i, s in enumerate(active)},
        instances={s: plan.split_counts[i] for i, s in enumerate(active)},
        uncovered=[(c, active[s]) for c, s in uncovered],
        largest_group=(groups[largest], int(sizes[largest])) if largest >= 0 else ("", 0),
        targets={s: float(t) for s, t in zip(active, plan.target, strict=True)},
        kept_groups=len(kept),
        moved_images=moved,
    )


class _Assignment:
    """Groups (class counts and sizes) being assigned to splits (their image targets)."""

    def __init__(
        self, counts: NDArray[np.int64], sizes: NDArray[np.int64], target: NDArray[np.float64]
    ) -> None:
        self.counts, self.sizes, self.target = counts, sizes, target
        self.assigned = np.full(len(sizes), -1)
        self.split_counts = np.zeros((len(target), counts.shape[1]), np.int64)
        self.split_sizes = np.zeros(len(target), np.int64)

    def assign(self, group: int, split: int) -> None:
        if (before := self.assigned[group]) >= 0:
            self.split_counts[before] -= self.counts[group]
            self.split_sizes[before] -= self.sizes[group]
        self.assigned[group] = split
        self.split_counts[split] += self.counts[group]
        self.split_sizes[split] += self.sizes[group]

    def cover(self) -> list[tuple[int, int]]:
        """Pass 1: each split takes a group for each class it lacks; returns the (class,
        split) pairs that could not be covered."""
        counts, sizes, assigned = self.counts, self.sizes, self.assigned
        holders = (counts > 0).sum(axis=0)
        uncovered = []
        for split in range(len(self.target)):
            for class_id in sorted(range(counts.shape[1]), key=lambda c: (holders[c], c)):
                if self.split_counts[split, class_id] or not holders[class_id]:
                    continue
                candidates = np.flatnonzero((assigned < 0) & (counts[:, class_id] > 0))
                filled = self.split_sizes[split]
                if split > 0 and filled:  # val/test: only within their share
                    candidates = candidates[filled + sizes[candidates] <= self.target[split]]
                later_empty = int((self.split_sizes[split + 1 :] == 0).sum())
                if filled and (assigned < 0).sum() <= later_empty:
                    candidates = candidates[:0]  # the last groups are kept for the empty splits
                if not len(candidates):
                    uncovered.append((class_id, split))
                    continue
                self.assign(int(candidates[np.argmin(sizes[candidates])]), split)
        return uncovered

    def fill(self) -> None:
        """Pass 2: the other groups, largest first, to the split furthest below its share."""
        remaining = np.flatnonzero(self.assigned < 0)
        for group in remaining[np.argsort(-self.sizes[remaining], kind="stable")]:
            self.assign(int(group), int(np.argmax(self.target - self.split_sizes)))

    def balance(self, free: NDArray[np.bool_]) -> None:
        """Pass 3: the best move of one ``free`` group, or swap of two, while it brings the
        splits closer to their shares (by at least half an image) and leaves each split every
        class it had."""
        for _ in range(4 * len(self.sizes)):
            for group, split, other in self._moves(free):
                if self._keeps_classes(group, split, other):
                    source = int(self.assigned[group])
                    self.assign(group, split)
                    if other >= 0:
                        self.assign(other, source)
                    break
            else:
                return

    def _moves(self, free: NDArray[np.bool_]) -> Iterator[tuple[int, int, int]]:
        """The moves (``other`` -1) and swaps that bring the splits closer to their shares, as
        (group, split it goes to, group coming back), best first."""
        distance = np.abs(self.split_sizes - self.target)
        error = float(distance.sum())
        found = []
        for source, split in itertools.permutations(range(len(self.target)), 2):
            movers = np.flatnonzero(free & (self.assigned == source))
            others = np.concatenate([[-1], np.flatnonzero(free & (self.assigned == split))])
            back = np.where(others >= 0, self.sizes[np.maximum(others, 0)], 0)
            change = self.sizes[movers][:, None] - back[None, :]
            after = (
                error
                - distance[source]
                - distance[split]
                + np.abs(self.split_sizes[source] - change - self.target[source])
                + np.abs(self.split_sizes[split] + change - self.target[split])
            )
            i, j = np.nonzero(after < error - 0.5)
            found.append((after[i, j], movers[i], np.full(len(i), split), others[j]))
        columns = zip(*found, strict=True)
        after, groups, splits, others = (np.concatenate(column) for column in columns)
        for k in np.argsort(after, kind="stable"):
            yield int(groups[k]), int(splits[k]), int(others[k])

    def _keeps_classes(self, group: int, split: int, other: int) -> bool:
        """Whether moving ``group`` to ``split`` (and ``other`` back) leaves both splits every
        class they had."""
        source = int(self.assigned[group])
        gained = self.counts[group] - (self.counts[other] if other >= 0 else 0)
        return all(
            not np.any((self.split_counts[where] + delta <= 0) & (self.split_counts[where] > 0))
            for where, delta in ((source, -gained), (split, gained))
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
    """Split ``dataset`` and write the lists (absolute image paths), data.yaml and split.json;
    an earlier split of the same seed and ratios is extended, not redone."""
    settings = settings or SplitSettings()
    names = dataset.names()
    entries = dataset_entries(dataset)
    if not entries:
        raise DatasetError(f"{dataset.root}: no images to split")
    previous = None if settings.fresh else earlier_split(dataset, settings)
    plan = plan_split(entries, len(names), settings, previous)
    for split in SPLITS:
        path = dataset.split_list(split)
        if split in plan.images:
            lines = "".join(f"{dataset.image_path(f)}\n" for f in plan.images[split])
            write_text_atomic(path, lines)
        else:
            path.unlink(missing_ok=True)
    record = {"seed": settings.seed, "ratios": list(settings.ratios)}
    write_text_atomic(dataset.root / RECORD_FILE, json.dumps(record) + "\n")
    dataset.write_data_yaml(names)
    return plan


def earlier_split(dataset: Dataset, settings: SplitSettings) -> dict[str, str] | None:
    """Image file -> split of the dataset's current split, when it was made with the same seed
    and ratios (None otherwise: a new split is asked for)."""
    record = dataset.root / RECORD_FILE
    try:
        made = json.loads(record.read_text(encoding="utf-8"))
        same = made["seed"] == settings.seed and tuple(made["ratios"]) == settings.ratios
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        LOG.warning("%s: not a split record; splitting anew", record)
        return None
    if not same:
        return None
    return {path.name: split for split in SPLITS for path in split_files(dataset, split)}


def split_files(dataset: Dataset, split: str) -> list[Path]:
    """The images listed in a split's list file ([] if the dataset was not split)."""
    path = dataset.split_list(split)
    if not path.is_file():
        return []
    return [Path(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
