"""The whole data half on the generated sample, through the `odet` CLI:
bag export -> dataset import (the sample's COCO ground truth) -> check -> split."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

from odet_ros.cli.main import main
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import read_manifest
from odet_ros.dataset.naming import parse_frame_stem
from odet_ros.labels.rle import polygon_mask
from odet_ros.labels.yolo import read_label_file, read_label_outlines
from odet_ros.sample.recording import write_sample
from odet_ros.sample.scene import SampleConfig, generate_frames

CONFIG = SampleConfig(width=160, height=120, segments=3, frames_per_segment=20)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    return write_sample(folder, CONFIG, progress=False)


def truth_of(row):
    """The rendered frame of a manifest row."""
    frames = {f.stamp_ns: f for f in generate_frames(CONFIG)}
    return frames[parse_frame_stem(row.file[:-4])[2]]


def test_export_import_check_split(tmp_path, sample, capsys):
    dataset = tmp_path / "ds"
    assert main(["bag", "export", str(sample.bag), "--out", str(dataset), "--every", "2"]) == 0
    rows = read_manifest(dataset / "manifest.csv")
    assert len(rows) == 2 * 30  # both image topics, every second frame
    assert len({r.group for r in rows}) == CONFIG.segments  # the 3 s gaps split the sequences
    capsys.readouterr()

    labels = sample.labels
    # the outlines: each label polygon fills the pixels its object shows in the frame
    arguments = ["dataset", "import", "--format", "coco", str(labels), "--into", str(dataset)]
    assert main(arguments) == 0
    assert "outlines written" in capsys.readouterr().out
    row = next(r for r in rows if len(truth_of(r).boxes))
    class_ids, _, polygons = read_label_outlines(dataset / "labels" / f"{row.file[:-4]}.txt")
    for index, polygon in enumerate(polygons):
        shown = truth_of(row).masks == index + 1
        drawn = polygon_mask(polygon * [row.width, row.height], row.height, row.width)
        assert (drawn & shown).sum() / (drawn | shown).sum() > 0.98  # 6-decimal label files
    # the boxes alone, as the demo trains its detector on them
    assert main([*arguments, "--boxes-only"]) == 0
    out = capsys.readouterr().out
    # The ground truth names every frame of both topics; the export kept half of them.
    assert "120 labelled images, 60 matched, 60 unmatched" in out and "boxes written" in out
    truth = {f.stamp_ns: f for f in generate_frames(CONFIG)}
    names = Dataset.open(dataset).names()
    assert names == ["plastic_bottle", "paper_cup", "drink_can"]
    for row in rows:
        class_ids, xyxy = read_label_file(dataset / "labels" / f"{row.file[:-4]}.txt")
        frame = truth[parse_frame_stem(row.file[:-4])[2]]
        scale = np.array([row.width, row.height] * 2)
        np.testing.assert_array_equal(class_ids, frame.class_ids)
        np.testing.assert_allclose(xyxy * scale, frame.boxes, atol=1e-3)

    assert main(["dataset", "check", str(dataset), "--min-instances", "1"]) == 0
    stats = json.loads((dataset / "report" / "stats.json").read_text())
    assert stats["images"] == 60 and stats["errors"] == 0
    assert sum(c["instances"] for c in stats["classes"].values()) == stats["instances"] > 0
    capsys.readouterr()

    assert main(["dataset", "split", str(dataset), "--ratios", "0.5", "0.25", "0.25"]) == 0
    data = yaml.safe_load((dataset / "data.yaml").read_text())
    assert data["path"] == str(dataset) and data["train"] == "train.txt"
    group_of = {r.file: r.group for r in rows}
    seen: dict[str, str] = {}
    for split in ("train", "val", "test"):
        for line in (dataset / f"{split}.txt").read_text().splitlines():
            group = group_of[line.rsplit("/", 1)[1]]
            assert seen.setdefault(group, split) == split  # a group never straddles splits
    assert set(seen.values()) == {"train", "val", "test"}


def test_the_cli_offers_every_label_format():
    from odet_ros.cli.dataset import FORMATS as CLI_FORMATS  # kept literal for a fast --help
    from odet_ros.labels import FORMATS

    assert set(CLI_FORMATS) == set(FORMATS)


def test_labels_match_by_topic_and_stamp_when_the_bag_was_renamed(tmp_path, sample, capsys):
    renamed = tmp_path / "robot1_run3"
    shutil.copytree(sample.bag, renamed)  # the folder names the bag; its files keep their names
    dataset = tmp_path / "ds"
    topic = ["--topic", "/camera/image_raw/compressed", "--format", "png"]
    assert main(["bag", "export", str(renamed), "--out", str(dataset), *topic]) == 0
    assert all(f.name.startswith("robot1_run3__") for f in (dataset / "images").iterdir())
    capsys.readouterr()
    assert (
        main(["dataset", "import", "-f", "coco", str(sample.labels), "--into", str(dataset)]) == 0
    )
    assert "120 labelled images, 60 matched, 60 unmatched" in capsys.readouterr().out


def test_a_roboflow_export_matches_the_images_it_renamed(tmp_path, sample, capsys):
    """Roboflow exports <stem>_<ext>.rf.<hash>.<ext>: the labels still find their frames."""
    dataset = tmp_path / "ds"
    topic = ["--topic", "/camera/image_raw", "--every", "4"]
    assert main(["bag", "export", str(sample.bag), "--out", str(dataset), *topic]) == 0
    exported = tmp_path / "roboflow" / "train"
    for folder in ("images", "labels"):
        (exported / folder).mkdir(parents=True)
    names = sorted(p.name for p in (dataset / "images").iterdir())
    for index, name in enumerate(names):
        stem, suffix = name.rsplit(".", 1)
        renamed = f"{stem}_{suffix}.rf.{index:032x}"
        (exported / "images" / f"{renamed}.{suffix}").write_bytes(b"")
        (exported / "labels" / f"{renamed}.txt").write_text(f"0 0.5 0.5 0.{index % 9 + 1} 0.2\n")
    (tmp_path / "roboflow" / "data.yaml").write_text("names: [cup]\n")
    capsys.readouterr()
    source = str(tmp_path / "roboflow")
    assert main(["dataset", "import", "-f", "yolo", source, "--into", str(dataset)]) == 0
    assert f"{len(names)} matched, 0 unmatched" in capsys.readouterr().out
    class_ids, xyxy = read_label_file(Dataset.open(dataset).label_path(names[3]))
    np.testing.assert_allclose(xyxy[:, 2] - xyxy[:, 0], [0.4])
