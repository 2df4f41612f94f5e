"""The dataset folder: Ultralytics YOLO layout plus the files odet keeps beside it.

::

    DATASET/
      data.yaml        names, an absolute ``path``, and train/val/test (the split lists once split)
      images/          <frame_stem>.jpg|png
      labels/          <frame_stem>.txt, one ``class cx cy w h`` line per box (normalised)
      manifest.csv     where each image came from (bag, topic, stamp, group)
      prelabels.json   label files written by a model and not yet reviewed by a person
      train.txt ...    absolute image paths of each split (``odet dataset split``)
      split.json       the seed and ratios of that split, so a later run extends it alike

``path`` is written absolute because Ultralytics resolves a relative one against its own
``datasets_dir``, not the YAML's folder (the classic "No labels found").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from odet_ros.atomic import write_text_atomic
from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.reader import SPLITS, parse_names
from odet_ros.imaging.files import IMAGE_SUFFIXES


@dataclass(frozen=True)
class Dataset:
    """A dataset folder (``root`` is absolute)."""

    root: Path

    @classmethod
    def open(cls, root: str | Path) -> Dataset:
        """An existing dataset; it must have an ``images/`` folder."""
        dataset = cls(Path(root).expanduser().resolve())
        if not dataset.images_dir.is_dir():
            raise DatasetError(f"{dataset.root}: not a dataset (no images/ folder)")
        return dataset

    @classmethod
    def create(cls, root: str | Path) -> Dataset:
        """A dataset folder, made if missing; an existing one is opened as it is."""
        dataset = cls(Path(root).expanduser().resolve())
        dataset.images_dir.mkdir(parents=True, exist_ok=True)
        dataset.labels_dir.mkdir(exist_ok=True)
        if not dataset.data_yaml.exists():
            dataset.write_data_yaml([])
        return dataset

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def labels_dir(self) -> Path:
        return self.root / "labels"

    @property
    def data_yaml(self) -> Path:
        return self.root / "data.yaml"

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.csv"

    @property
    def prelabels_path(self) -> Path:
        return self.root / "prelabels.json"

    def split_list(self, split: str) -> Path:
        return self.root / f"{split}.txt"

    def image_paths(self) -> list[Path]:
        """Every image in ``images/``, sorted by name (hidden and temporary files excluded)."""
        return sorted(
            path
            for path in self.images_dir.iterdir()
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
        )

    def label_path(self, image: str | Path) -> Path:
        """The label file of an image (a path or a file name in ``images/``)."""
        return self.labels_dir / f"{Path(image).stem}.txt"

    def image_path(self, file_name: str) -> Path:
        return self.images_dir / file_name

    def names(self) -> list[str]:
        """Class names from data.yaml (a list, or a mapping of class index to name); none yet
        is an empty list."""
        if not self.data_yaml.is_file():
            return []
        try:
            data = yaml.safe_load(self.data_yaml.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise DatasetError(f"{self.data_yaml}: not valid YAML ({error})") from None
        if not isinstance(data, dict):
            raise DatasetError(f"{self.data_yaml}: expected a mapping with 'names'")
        return parse_names(data, self.data_yaml)

    def write_data_yaml(self, names: list[str]) -> None:
        """data.yaml for Ultralytics: the split lists where they exist, else all of images/."""
        data: dict[str, object] = {"path": str(self.root)}
        lists = {split: self.split_list(split) for split in SPLITS}
        if lists["train"].is_file() and lists["val"].is_file():
            data |= {split: path.name for split, path in lists.items() if path.is_file()}
        else:
            data |= {"train": "images", "val": "images"}
        data["nc"] = len(names)
        data["names"] = dict(enumerate(names))
        write_text_atomic(self.data_yaml, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
