"""The dataset as training and export see it: checked, fingerprinted and handed to Ultralytics.

Splits are read with the evaluation reader (:mod:`odet_ros.dataset.reader`), so training,
int8 calibration and evaluation agree on the images and labels of each split. Ultralytics gets
that same image list, as absolute paths in a generated data.yaml: it resolves a relative ``path``
against its own ``datasets_dir``, not the YAML's folder, and would otherwise train on something
else than what was checked and hashed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.manifest import read_manifest
from odet_ros.dataset.reader import DatasetSplit, find_yaml, load_split

TRAINING_SPLITS = ("train", "val")
MANIFEST_FILE = "manifest.csv"


@dataclass(frozen=True)
class SplitSummary:
    images: int
    labelled_images: int  # images whose label file holds at least one box
    boxes: int
    outlines: int = 0  # of the boxes, those given as polygons (what a -seg model learns)


@dataclass(frozen=True)
class TrainingDataset:
    """A dataset's train and val splits (and test when it has one), with what identifies them."""

    yaml_file: Path
    names: list[str]
    splits: dict[str, DatasetSplit]
    summary: dict[str, SplitSummary]
    fingerprint: str  # "sha256:..." of each split's image list and label files
    manifest: dict[str, Any] | None  # summary of manifest.csv, when the dataset has one

    @property
    def evaluation_split(self) -> str:
        """The split an exported model is scored on: test, else val."""
        return "test" if "test" in self.splits else "val"

    def describe(self) -> dict[str, Any]:
        """What a bundle records about the dataset it came from."""
        return {
            "yaml": str(self.yaml_file),
            "hash": self.fingerprint,
            "names": self.names,
            "splits": {split: asdict(summary) for split, summary in self.summary.items()},
            "manifest": self.manifest,
        }


def open_dataset(data: str | Path) -> TrainingDataset:
    """Read and check a dataset for training: train and val must exist and hold labelled boxes."""
    yaml_file = find_yaml(Path(data).expanduser()).resolve()
    splits = {split: load_split(yaml_file, split) for split in TRAINING_SPLITS}
    test = _optional_test_split(yaml_file)
    if test is not None:
        splits["test"] = test
    summary, fingerprint = _scan(yaml_file, splits)
    for split in TRAINING_SPLITS:
        if summary[split].boxes == 0:
            first = splits[split].samples[0]
            raise DatasetError(
                f"{yaml_file}: split {split!r} has no labels: none of its"
                f" {summary[split].images} images has a label file with a box (the first"
                f" image's would be {first.labels}); label the images, or check that labels/"
                " sits beside images/"
            )
    names = splits["train"].names
    return TrainingDataset(
        yaml_file, names, splits, summary, fingerprint, _manifest_summary(yaml_file, splits)
    )


def _optional_test_split(yaml_file: Path) -> DatasetSplit | None:
    """The test split: an error if data.yaml names one that cannot be read, None if it has none."""
    config = yaml.safe_load(yaml_file.read_text(encoding="utf-8"))
    if config.get("test"):
        return load_split(yaml_file, "test")
    try:
        return load_split(yaml_file, "test")  # a test folder found by Ultralytics' conventions
    except DatasetError:
        return None


def _scan(yaml_file: Path, splits: dict[str, DatasetSplit]) -> tuple[dict[str, SplitSummary], str]:
    """Count images, labelled images and boxes; hash image paths (relative to the YAML's folder,
    so a moved dataset keeps its hash) with the bytes of their label files."""
    digest = hashlib.sha256()
    summary = {}
    for split, dataset in splits.items():
        labelled = boxes = outlines = 0
        for sample in dataset.samples:
            try:
                labels = sample.labels.read_bytes()
            except FileNotFoundError:
                labels = b""
            except OSError as error:
                raise DatasetError(f"{sample.labels}: cannot read: {error}") from error
            rows = [line.split() for line in labels.splitlines() if line.strip()]
            labelled += len(rows) > 0
            boxes += len(rows)
            outlines += sum(len(row) > 5 for row in rows)
            relative = os.path.relpath(sample.image, yaml_file.parent)
            digest.update(f"{split}\t{relative}\t".encode())
            digest.update(hashlib.sha256(labels).digest())
        summary[split] = SplitSummary(len(dataset.samples), labelled, boxes, outlines)
    return summary, f"sha256:{digest.hexdigest()}"


def _manifest_summary(yaml_file: Path, splits: dict[str, DatasetSplit]) -> dict[str, Any] | None:
    """Sources of the images (``odet bag export``'s manifest.csv) and how groups fall in splits:
    a group in two splits means near-identical frames on both sides."""
    rows = read_manifest(yaml_file.parent / MANIFEST_FILE)
    if not rows:
        return None
    group_of = {row.file: row.group for row in rows}
    groups = {
        split: {group_of[s.image.name] for s in dataset.samples if s.image.name in group_of}
        for split, dataset in splits.items()
    }
    every = [group for split_groups in groups.values() for group in split_groups]
    return {
        "images": len(rows),
        "bags": len({row.bag for row in rows}),
        "topics": sorted({row.topic for row in rows}),
        "groups": len({row.group for row in rows}),
        "groups_per_split": {split: len(found) for split, found in groups.items()},
        "groups_in_several_splits": len(every) - len(set(every)),
    }


def write_ultralytics_yaml(dataset: TrainingDataset, folder: Path) -> Path:
    """Write ``folder/data.yaml`` and one absolute image list per split for Ultralytics."""
    folder.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"path": str(folder.resolve())}
    for split in dataset.splits:
        listing = folder / f"{split}.txt"
        images = (str(sample.image.resolve()) for sample in dataset.splits[split].samples)
        listing.write_text("\n".join(images) + "\n", encoding="utf-8")
        config[split] = listing.name
    config["names"] = dict(enumerate(dataset.names))
    data_yaml = folder / "data.yaml"
    data_yaml.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return data_yaml
