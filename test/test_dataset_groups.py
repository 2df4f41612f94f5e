"""A split that holds on the bags our capture node writes: the sample scene captured at the node's
defaults (about a frame a second), exported, split and checked. Pauses alone make nearly every
captured frame a group, so views of one place land in train and in val; grouping by what the
frames show keeps each place of the sample (a segment) in one group, and `odet dataset check`
finds the near twins a pause-only grouping leaks."""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import pytest

from odet_ros.bags import read_messages
from odet_ros.capture import DEFAULT_SAMPLING, CaptureRecorder, SessionSettings
from odet_ros.cli.main import main
from odet_ros.dataset.check import check_dataset
from odet_ros.dataset.export import ExportSettings, export_bags
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import read_manifest
from odet_ros.dataset.report import TWIN_TILE, TWINS_SHOWN
from odet_ros.dataset.split import split_dataset
from odet_ros.sample.recording import IMAGE_TOPIC, write_sample
from odet_ros.sample.scene import SampleConfig, generate_frames

CONFIG = SampleConfig(seed=5, segments=6, frames_per_segment=45, width=160, height=120)


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The sample played into the capture node's recorder at the node's default sampling."""
    root = tmp_path_factory.mktemp("captured")
    sample = write_sample(root / "sample", CONFIG, progress=False)
    settings = SessionSettings(root / "captures", min_free_disk_mb=0)
    recorder = CaptureRecorder([IMAGE_TOPIC], DEFAULT_SAMPLING, settings, logging.getLogger("t"))
    recorder.start()
    for message in read_messages(sample.bag, topics=[IMAGE_TOPIC]):
        recorder.on_image(IMAGE_TOPIC, message.msg, message.timestamp)
    recorder.stop()
    return sorted(p for p in (root / "captures").glob("*/*") if p.is_dir())


PAUSES_ONLY = {"same_view": 0.0, "by_place": False}


def _export(bags: list[Path], out: Path, **settings: float | bool) -> Dataset:
    export_bags(bags, out, ExportSettings(**settings), progress=False)
    return Dataset.open(out)


def _places(dataset: Dataset) -> dict[str, set[int]]:
    """Each group's sample segments (the places its frames show)."""
    segment_at = {frame.stamp_ns: frame.segment for frame in generate_frames(CONFIG)}
    places: dict[str, set[int]] = defaultdict(set)
    for row in read_manifest(dataset.manifest_path):
        places[row.group].add(segment_at[row.stamp_ns])
    return places


def test_a_captured_bag_is_grouped_by_place_not_by_frame(captured, tmp_path):
    """Every group shows one place, and a place is one group unless its camera swung far enough
    to show another view of it (the sample's pans and zooms do that now and then)."""
    places = _places(_export(captured, tmp_path / "ds"))
    assert all(len(segments) == 1 for segments in places.values())
    assert CONFIG.segments <= len(places) <= CONFIG.segments + 1
    pauses_only = _places(_export(captured, tmp_path / "pauses", **PAUSES_ONLY))
    assert len(pauses_only) > 2 * CONFIG.segments  # the problem: nearly a group per frame


def test_the_check_finds_the_twins_a_pause_only_split_leaks(captured, tmp_path):
    leaky = _export(captured, tmp_path / "pauses", **PAUSES_ONLY)
    split_dataset(leaky)
    twins = check_dataset(leaky).twins
    assert twins
    segment_at = {frame.stamp_ns: frame.segment for frame in generate_frames(CONFIG)}
    stamps = {row.file: row.stamp_ns for row in read_manifest(leaky.manifest_path)}
    for twin in twins:
        assert twin.split in ("val", "test")
        assert segment_at[stamps[twin.image]] == segment_at[stamps[twin.train_image]]

    grouped = _export(captured, tmp_path / "ds")
    split_dataset(grouped)
    assert check_dataset(grouped).twins == []


def test_split_prints_how_many_groups_and_the_largest(captured, tmp_path, capsys):
    dataset = _export(captured, tmp_path / "ds")
    sizes = Counter(row.group for row in read_manifest(dataset.manifest_path))
    assert main(["dataset", "split", str(dataset.root)]) == 0
    printed = capsys.readouterr().out
    found = re.search(r"(\d+) places \(groups\); the largest, (\S+), holds (\d+) images", printed)
    assert found, printed
    assert int(found[1]) == len(sizes)
    assert sizes[found[2]] == int(found[3]) == max(sizes.values())
    assert "warning: one group holds" not in printed

    one_stretch = _export(captured, tmp_path / "one", group_gap_s=60.0)  # no pause is long
    assert main(["dataset", "split", str(one_stretch.root)]) == 0
    printed = capsys.readouterr().out
    assert "warning: one group holds 100% of the images" in printed
    assert "alone holds more images than the train and val and test share" in printed


def test_check_prints_the_twins_and_shows_them_in_the_report(captured, tmp_path, capsys):
    leaky = _export(captured, tmp_path / "pauses", **PAUSES_ONLY)
    split_dataset(leaky)
    assert main(["dataset", "check", str(leaky.root)]) == 1  # twins across splits: errors
    twins = [line for line in capsys.readouterr().out.splitlines() if "nearly repeats" in line]
    assert len(twins) == len(check_dataset(leaky).twins) > 0
    report = leaky.root / "report"
    shown = cv2.imread(str(report / "twins.jpg"))
    assert shown.shape[0] == TWIN_TILE[1] * min(len(twins), TWINS_SHOWN)
    page = (report / "index.html").read_text()
    assert "Near twins across splits" in page and "twins.jpg" in page
