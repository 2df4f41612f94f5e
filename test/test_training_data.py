"""The dataset as training sees it: checks, the fingerprint, the manifest summary, and the
data.yaml handed to Ultralytics. No torch needed (runs in the robot profile too)."""

from __future__ import annotations

import shutil

import pytest
import yaml
from support.training import NAMES, make_dataset

from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.manifest import ManifestRow, write_manifest
from odet_ros.dataset.reader import load_split
from odet_ros.training.data import open_dataset, write_ultralytics_yaml


def test_summary_counts_images_labelled_images_and_boxes(tmp_path):
    data = make_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "labels" / "train_0.txt").write_text(
        "0 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.1 0.1\n"
    )
    (tmp_path / "ds" / "labels" / "train_1.txt").write_text("\n")  # background image
    dataset = open_dataset(tmp_path / "ds")  # the folder finds its data.yaml
    assert dataset.yaml_file == data
    assert dataset.names == NAMES
    assert dataset.summary["train"].images == 4
    assert dataset.summary["train"].labelled_images == 3
    assert dataset.summary["train"].boxes == 4
    assert dataset.evaluation_split == "val"  # no test split
    assert dataset.manifest is None


def test_fingerprint_follows_labels_and_image_list_not_location(tmp_path):
    make_dataset(tmp_path / "a")
    first = open_dataset(tmp_path / "a").fingerprint
    moved = tmp_path / "b"
    shutil.copytree(tmp_path / "a", moved)
    config = yaml.safe_load((moved / "data.yaml").read_text())
    config["path"] = str(moved)
    for split in ("train", "val"):
        listed = (moved / f"{split}.txt").read_text().replace(str(tmp_path / "a"), str(moved))
        (moved / f"{split}.txt").write_text(listed)
    (moved / "data.yaml").write_text(yaml.safe_dump(config))
    assert open_dataset(moved).fingerprint == first

    (moved / "labels" / "val_1.txt").write_text("0 0.5 0.5 0.2 0.3\n")  # was class 1
    relabelled = open_dataset(moved).fingerprint
    assert relabelled != first

    listed = (moved / "train.txt").read_text().splitlines()
    (moved / "train.txt").write_text("\n".join(listed[:-1]) + "\n")  # one image fewer
    assert open_dataset(moved).fingerprint not in (first, relabelled)


def test_a_split_without_labels_is_refused_by_name(tmp_path):
    make_dataset(tmp_path / "ds", labelled=False)
    with pytest.raises(DatasetError, match=r"split 'train' has no labels.*train_0\.txt"):
        open_dataset(tmp_path / "ds")


def test_test_split_is_used_for_evaluation_and_a_missing_declared_one_is_an_error(tmp_path):
    data = make_dataset(tmp_path / "ds", splits=(("train", 3), ("val", 2), ("test", 2)))
    dataset = open_dataset(data)
    assert dataset.evaluation_split == "test"
    assert dataset.summary["test"].images == 2
    (tmp_path / "ds" / "test.txt").unlink()
    with pytest.raises(DatasetError, match="test"):
        open_dataset(data)


def test_manifest_summary_counts_sources_and_groups_shared_by_splits(tmp_path):
    data = make_dataset(tmp_path / "ds")
    rows = [
        ManifestRow(f"{split}_{i}.png", bag, "/cam/image", i, i, 48, 32, "bgr8", group)
        for split, bag, group, count in (
            ("train", "a.mcap", "a-0", 4),
            ("val", "b.mcap", "b-0", 1),
        )
        for i in range(count)
    ]
    rows.append(ManifestRow("val_1.png", "a.mcap", "/cam/image", 9, 9, 48, 32, "bgr8", "a-0"))
    write_manifest(tmp_path / "ds" / "manifest.csv", rows)
    manifest = open_dataset(data).manifest
    assert manifest == {
        "images": 6,
        "bags": 2,
        "topics": ["/cam/image"],
        "groups": 2,
        "groups_per_split": {"train": 1, "val": 2},
        "groups_in_several_splits": 1,  # a-0 has frames in train and val
    }


def test_ultralytics_yaml_lists_the_same_images_with_absolute_paths(tmp_path, monkeypatch):
    relative = tmp_path / "rel"
    make_dataset(relative)
    config = yaml.safe_load((relative / "data.yaml").read_text())
    config["path"] = "."  # Ultralytics would resolve this against its datasets_dir
    (relative / "data.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)
    dataset = open_dataset("rel/data.yaml")
    written = write_ultralytics_yaml(dataset, tmp_path / "for-ultralytics")
    config = yaml.safe_load(written.read_text())
    assert config["names"] == dict(enumerate(NAMES))
    for split in ("train", "val"):
        listed = (written.parent / config[split]).read_text().split()
        assert all(path.startswith("/") for path in listed)
        assert listed == [str(s.image.resolve()) for s in load_split(relative, split).samples]
