"""Groups by place over the whole dataset: the groups of every bag exported into it (earlier
runs' too) that show one place become one group, however far apart in time. A patrolling robot
passes a place, visits others and comes back to it, that day or the next; each visit is a
stretch of its own, and a split that puts the visits into train and val measures the model on
frames it was trained on.

Two groups show one place when a frame of one is a near twin of a frame of the other: the same
test `odet dataset check` applies across splits (exposure-free colour signatures pick the
candidates, thumbnails aligned by phase correlation decide, :mod:`odet_ros.sampling.similarity`),
on the same files, so a split of these groups leaves the check nothing to find. For each frame
the ``TWIN_TRIES`` candidates of each other group closest in colour are tried. Colours alone
never link groups here: rooms painted alike would all collapse into one group (the export's
chain links alike colours only across short pauses, :mod:`odet_ros.dataset.export`); the largest
group's share, which `odet dataset split` prints, shows when grouping went too far.

Groups only ever merge, so frames added later never split a group; a merged group is named
after its earliest member. Derived images (augmented copies) keep following their source.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import ManifestRow
from odet_ros.sampling.similarity import (
    NEAR_TWIN,
    SAME_VIEW,
    SIGNATURE_PAIRS_AT_ONCE,
    aligned_difference,
    file_twin_view,
    view_distances,
)

TWIN_TRIES = 5  # frames of another group tried per frame, closest in colour first


@dataclass
class PlaceGroups:
    """The rows with their place groups, how many groups merged, and the images that could not
    be read (each keeps its group)."""

    rows: list[ManifestRow]
    merged: int
    unreadable: list[str]


def group_by_place(
    dataset: Dataset, rows: list[ManifestRow], *, progress: bool = False
) -> PlaceGroups:
    """Merge the groups of ``rows`` whose images (in ``dataset``) show one place."""
    sources = sorted((row for row in rows if not row.origin), key=lambda r: r.file)
    readable, signatures, thumbnails, unreadable = [], [], [], []
    for row in tqdm(sources, desc="places", unit="img", disable=not progress):
        view = file_twin_view(dataset.image_path(row.file))
        if view is None:
            unreadable.append(row.file)
            continue
        readable.append(row)
        signatures.append(view[0])
        thumbnails.append(view[1])
    first_seen: dict[str, tuple[int, str]] = {}
    for row in sources:
        seen = first_seen.get(row.group, (row.receive_ns, row.group))
        first_seen[row.group] = min(seen, (row.receive_ns, row.group))
    names = sorted(first_seen, key=first_seen.__getitem__)  # earliest first: it names a merge
    index = {name: i for i, name in enumerate(names)}
    labels = np.array([index[row.group] for row in readable], np.int64)
    if readable:
        _link_twins(labels, np.stack(signatures), np.stack(thumbnails))
    pairs = zip(readable, labels.tolist(), strict=True)
    renamed = {row.group: names[label] for row, label in pairs}
    merged = sum(old != new for old, new in renamed.items())
    moved = [replace(row, group=renamed.get(row.group, row.group)) for row in rows]
    return PlaceGroups(moved, merged, unreadable)


def _link_twins(
    labels: NDArray[np.int64], signatures: NDArray[np.float32], thumbnails: NDArray[np.float32]
) -> None:
    """Give every frame the smallest label of the frames it is linked to by near twins
    (``labels`` is updated in place; a smaller label is an earlier group)."""
    step = max(1, SIGNATURE_PAIRS_AT_ONCE // max(signatures.size, 1))
    for start in range(0, len(signatures), step):
        distances = view_distances(signatures[start : start + step], signatures)
        for offset, row in enumerate(distances):
            query = start + offset
            candidates = np.flatnonzero(row < SAME_VIEW)
            candidates = candidates[candidates > query]  # each pair once
            candidates = candidates[np.argsort(row[candidates], kind="stable")]
            tried: dict[int, int] = {}
            for other in candidates.tolist():
                group, own = int(labels[other]), int(labels[query])
                if group == own or tried.get(group, 0) >= TWIN_TRIES:
                    continue
                tried[group] = tried.get(group, 0) + 1
                if _twins(thumbnails[query], thumbnails[other]):
                    low, high = min(group, own), max(group, own)
                    labels[labels == high] = low


def _twins(a: NDArray[np.float32], b: NDArray[np.float32]) -> bool:
    """Near twins once aligned; close calls in the other order too (`odet dataset check` aligns
    the train image onto the held-out one, and either may end up in train)."""
    difference = aligned_difference(a, b)
    if NEAR_TWIN <= difference < 1.5 * NEAR_TWIN:
        difference = aligned_difference(b, a)
    return difference < NEAR_TWIN
