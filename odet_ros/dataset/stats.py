"""Dataset statistics: instances per class, imbalance, box sizes and shapes, per source bag.

Warns, as the workflow's "keep classes balanced" rule asks, when a class has fewer than
``min_instances`` boxes or the largest class outnumbers the smallest by more than
``max_imbalance``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from odet_ros.dataset.check import CheckResult
from odet_ros.dataset.manifest import ManifestRow

PERCENTILES = (5, 25, 50, 75, 95)
SMALL, MEDIUM = 32 * 32, 96 * 96  # COCO's box area buckets, in pixels
NO_BAG = "(not from a bag)"


@dataclass(frozen=True)
class StatsSettings:
    min_instances: int = 50
    max_imbalance: float = 10.0


@dataclass
class DatasetStats:
    """Figures for the report; the arrays hold one value per box (pixels where sized)."""

    names: list[str]
    images: int
    background: int
    instances: NDArray[np.int64]  # per class
    images_per_class: NDArray[np.int64]
    box_width: NDArray[np.float64]  # pixels
    box_height: NDArray[np.float64]
    box_class: NDArray[np.int64]
    per_bag: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)

    @property
    def imbalance(self) -> float | None:
        """Largest class / smallest class (None without classes; inf if one has no box)."""
        if not len(self.instances):
            return None
        smallest = self.instances.min()
        return float("inf") if smallest == 0 else float(self.instances.max() / smallest)

    def to_json(self) -> dict[str, Any]:
        aspect = self.box_width / np.maximum(self.box_height, 1e-9)
        area = self.box_width * self.box_height
        imbalance = self.imbalance
        return {
            "images": self.images,
            "labelled_images": self.images - self.background,
            "background_images": self.background,
            "instances": int(self.instances.sum()),
            "classes": {
                name: {"instances": int(n), "images": int(m)}
                for name, n, m in zip(
                    self.names, self.instances, self.images_per_class, strict=True
                )
            },
            "imbalance_ratio": None if imbalance is None or np.isinf(imbalance) else imbalance,
            "box_width_px": _percentiles(self.box_width),
            "box_height_px": _percentiles(self.box_height),
            "box_aspect_ratio": _percentiles(aspect),
            "box_sizes": {
                "small": int((area < SMALL).sum()),
                "medium": int(((area >= SMALL) & (area < MEDIUM)).sum()),
                "large": int((area >= MEDIUM).sum()),
            },
            "per_bag": self.per_bag,
            "warnings": self.warnings,
        }


def _percentiles(values: NDArray[np.float64]) -> dict[str, float] | None:
    if not len(values):
        return None
    return {
        f"p{p}": round(float(v), 3)
        for p, v in zip(PERCENTILES, np.percentile(values, PERCENTILES), strict=True)
    }


def dataset_stats(
    names: list[str],
    checked: CheckResult,
    manifest: list[ManifestRow],
    settings: StatsSettings | None = None,
) -> DatasetStats:
    """Statistics of the boxes ``check_dataset`` found usable."""
    settings = settings or StatsSettings()
    classes = len(names)
    files = sorted(checked.boxes)
    ids = [checked.boxes[f].class_ids for f in files]
    all_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    known = all_ids < classes
    instances = np.bincount(all_ids[known], minlength=classes)[:classes]
    images_per_class = np.zeros(classes, np.int64)
    for class_ids in ids:
        present = np.unique(class_ids[class_ids < classes])
        images_per_class[present] += 1
    sizes = np.array([checked.sizes.get(f, (0, 0)) for f in files], np.float64).reshape(-1, 2)
    counts = np.array([len(i) for i in ids], np.int64)
    scale = np.repeat(sizes, counts, axis=0)
    wh = (
        np.concatenate([checked.boxes[f].cxcywh[:, 2:] for f in files])
        if files
        else np.zeros((0, 2))
    )
    stats = DatasetStats(
        names=names,
        images=checked.images,
        background=len(checked.background),
        instances=instances,
        images_per_class=images_per_class,
        box_width=wh[:, 0] * scale[:, 0],
        box_height=wh[:, 1] * scale[:, 1],
        box_class=all_ids,
        per_bag=_per_bag(checked, manifest),
    )
    stats.warnings = balance_warnings(names, instances, settings)
    return stats


def _per_bag(checked: CheckResult, manifest: list[ManifestRow]) -> dict[str, dict[str, int]]:
    bag_of = {row.file: row.bag for row in manifest}
    images: Counter[str] = Counter()
    boxes: Counter[str] = Counter()
    for file in {*checked.sizes, *checked.boxes}:
        bag = bag_of.get(file, NO_BAG)
        images[bag] += 1
        if file in checked.boxes:
            boxes[bag] += len(checked.boxes[file].class_ids)
    return {bag: {"images": images[bag], "instances": boxes[bag]} for bag in sorted(images)}


def balance_warnings(
    names: list[str], instances: NDArray[np.int64], settings: StatsSettings
) -> list[str]:
    warnings = [
        f"class {name!r} has {count} instances (fewer than {settings.min_instances})"
        for name, count in zip(names, instances.tolist(), strict=True)
        if count < settings.min_instances
    ]
    if len(instances) > 1 and instances.min() > 0:
        ratio = instances.max() / instances.min()
        if ratio > settings.max_imbalance:
            largest, smallest = names[int(instances.argmax())], names[int(instances.argmin())]
            warnings.append(
                f"class imbalance {ratio:.1f} ({largest!r} / {smallest!r}) is above"
                f" {settings.max_imbalance:g}: collect or augment more of the rare classes"
            )
    return warnings
