"""`odet dataset check`: each kind of problem found with its file and line; statistics; report."""

from __future__ import annotations

import json
import shutil
import sys

import cv2
import numpy as np
from support.dataset import make_dataset

from odet_ros.cli.main import main
from odet_ros.dataset.check import check_dataset
from odet_ros.dataset.manifest import read_manifest
from odet_ros.dataset.stats import StatsSettings, dataset_stats

NAMES = ["cup", "bottle"]


def troubled_dataset(root):
    dataset = make_dataset(
        root,
        NAMES,
        {
            "good.jpg": [[0, 0.5, 0.5, 0.2, 0.2], [1, 0.2, 0.2, 0.1, 0.1]],
            "bad_lines.jpg": [
                [0, 0.5, 0.5, 0.2, 0.2],
                [2, 0.5, 0.5, 0.2, 0.2],  # line 2: unknown class
                [0, 1.2, 0.5, 0.2, 0.2],  # line 3: outside [0, 1]
                [1, 0.5, 0.5, 0.0, 0.2],  # line 4: zero width
                [0, 0.5, 0.5, 0.2, 0.2],  # line 5: duplicate of line 1
                [0, 0.51, 0.5, 0.2, 0.2],  # line 6: heavy overlap with line 1
                [1, 0.95, 0.5, 0.2, 0.2],  # line 7: reaches past the right edge
            ],
            "background.jpg": None,
            "copy.jpg": None,
            "empty.jpg": None,
            "broken.jpg": None,
        },
    )
    shutil.copy(dataset.image_path("good.jpg"), dataset.image_path("copy.jpg"))
    dataset.image_path("empty.jpg").write_bytes(b"")
    dataset.image_path("broken.jpg").write_bytes(b"not a jpeg at all")
    dataset.label_path("orphan.jpg").write_text("0 0.5 0.5 0.1 0.1\n")
    with dataset.label_path("bad_lines.jpg").open("a") as stream:
        stream.write("0 0.5 0.5 0.1\n")  # line 8: four values
    return dataset


def test_every_kind_of_problem_is_found_with_its_line(tmp_path):
    dataset = troubled_dataset(tmp_path / "ds")
    found = {(f.level, f.file, f.line, f.message) for f in check_dataset(dataset).findings}
    labels = "labels/bad_lines.txt"
    assert found == {
        ("error", labels, 2, "unknown class id 2 (data.yaml has 2 classes)"),
        ("error", labels, 3, "coordinates outside [0, 1]: 1.2 0.5 0.2 0.2"),
        ("error", labels, 4, "zero or negative size: w 0, h 0.2"),
        (
            "error",
            labels,
            8,
            "4 values; expected 5 (class cx cy w h) or a polygon (class x1 y1 x2 y2 x3 y3 ...)",
        ),
        ("warning", labels, 5, "duplicate of line 1"),
        ("warning", labels, 6, "overlaps line 1 of the same class (IoU 0.90)"),
        ("warning", labels, 6, "overlaps line 5 of the same class (IoU 0.90)"),
        ("warning", labels, 7, "box reaches outside the image"),
        ("error", "images/empty.jpg", None, "zero-byte image"),
        ("error", "images/broken.jpg", None, "unreadable image"),
        ("warning", "images/copy.jpg", None, "identical image under other names: images/good.jpg"),
        ("warning", "labels/orphan.txt", None, "label file without an image"),
    }


def test_every_kind_of_polygon_problem_is_found_with_its_line(tmp_path):
    triangle = [0.1, 0.1, 0.4, 0.1, 0.25, 0.4]
    dataset = make_dataset(
        tmp_path / "ds",
        NAMES,
        {
            "good.jpg": [[0, *triangle], [1, 0.5, 0.5, 0.9, 0.5, 0.7, 0.9, 0.5, 0.9]],
            "bad.jpg": [
                [0, *triangle],
                [2, *triangle],  # line 2: unknown class
                [1, 0.5, 0.5, 1.2, 0.5, 0.8, 0.9],  # line 3: a point far outside
                [1, 0.5, 0.5, 0.6, 0.6, 0.7, 0.7],  # line 4: on one line, no area
                [0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 0.3],  # line 5: two distinct points
                [0, 0.9, 0.1, 1.005, 0.1, 0.95, 0.3],  # line 6: within Ultralytics' margin
                [0, 0.6, 0.6, 0.7, 0.6, 0.65],  # line 7: six values
            ],
            "mixed.jpg": [[0, *triangle], [1, 0.5, 0.5, 0.2, 0.2]],  # line 2: a box row
        },
    )
    found = {(f.level, f.file, f.line, f.message) for f in check_dataset(dataset).findings}
    bad = "labels/bad.txt"
    assert found == {
        ("error", bad, 2, "unknown class id 2 (data.yaml has 2 classes)"),
        ("error", bad, 3, "polygon outside the image: point 1.2 0.5 (normalised coordinates)"),
        ("error", bad, 4, "degenerate polygon: 3 distinct points, no area"),
        ("error", bad, 5, "degenerate polygon: 2 distinct points, no area"),
        ("warning", bad, 6, "polygon reaches outside the image"),
        (
            "error",
            bad,
            7,
            "6 values; expected 5 (class cx cy w h) or a polygon (class x1 y1 x2 y2 x3 y3 ...)",
        ),
        (
            "error",
            "labels/mixed.txt",
            2,
            "a box row among polygon rows (Ultralytics drops a file mixing them)",
        ),
    }


def test_background_images_are_listed_not_faulted(tmp_path):
    dataset = troubled_dataset(tmp_path / "ds")
    result = check_dataset(dataset)
    assert sorted(result.background) == ["background.jpg", "broken.jpg", "copy.jpg", "empty.jpg"]
    assert not any("background" in f.file for f in result.findings)


def test_statistics(tmp_path):
    boxes = {f"c{i}.jpg": [[0, 0.5, 0.5, 0.5, 0.25]] for i in range(6)}
    boxes |= {"b0.jpg": [[1, 0.5, 0.5, 0.25, 0.5], [0, 0.2, 0.2, 0.1, 0.1]], "bg.jpg": []}
    dataset = make_dataset(tmp_path / "ds", NAMES, boxes, size=(256, 192))
    checked = check_dataset(dataset)
    manifest = read_manifest(dataset.manifest_path)
    stats = dataset_stats(NAMES, checked, manifest, StatsSettings(min_instances=3, max_imbalance=5))
    summary = stats.to_json()
    assert summary["classes"] == {
        "cup": {"instances": 7, "images": 7},
        "bottle": {"instances": 1, "images": 1},
    }
    assert summary["imbalance_ratio"] == 7.0
    assert summary["images"] == 8 and summary["labelled_images"] == 8
    assert summary["box_width_px"]["p50"] == 128.0 and summary["box_height_px"]["p50"] == 48.0
    assert summary["box_sizes"] == {"small": 1, "medium": 7, "large": 0}
    assert summary["per_bag"] == {"bag": {"images": 8, "instances": 8}}
    assert stats.warnings == [
        "class 'bottle' has 1 instances (fewer than 3)",
        "class imbalance 7.0 ('cup' / 'bottle') is above 5: collect or augment more of the rare"
        " classes",
    ]


def test_cli_exit_code_and_report(tmp_path, capsys):
    dataset = troubled_dataset(tmp_path / "bad")
    assert main(["dataset", "check", str(dataset.root)]) == 1
    out = capsys.readouterr().out
    assert "error: labels/bad_lines.txt:2: unknown class id 2" in out
    assert "6 errors, 6 warnings" in out
    report = dataset.root / "report"
    assert json.loads((report / "stats.json").read_text())["errors"] == 6
    for plot in ("class_counts.png", "box_sizes.png", "aspect_ratios.png", "bags.png"):
        image = cv2.imread(str(report / plot))
        assert image is not None and image.shape[0] > 100
    page = (report / "index.html").read_text()
    assert "class_counts.png" in page and "labels/bad_lines.txt:2" in page

    clean = make_dataset(tmp_path / "clean", NAMES, {"a.jpg": [[0, 0.5, 0.5, 0.2, 0.2]]})
    assert main(["dataset", "check", str(clean.root), "--report", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "warning: class 'cup' has 1 instances (fewer than 50)" in out
    assert (tmp_path / "r" / "index.html").exists()
    assert np.isfinite(json.loads((tmp_path / "r" / "stats.json").read_text())["instances"])


def test_without_matplotlib_the_report_has_no_plots_but_the_check_runs(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as on an install without it
    clean = make_dataset(tmp_path / "ds", NAMES, {"a.jpg": [[0, 0.5, 0.5, 0.2, 0.2]]})
    assert main(["dataset", "check", str(clean.root)]) == 0
    report = clean.root / "report"
    assert sorted(p.name for p in report.iterdir()) == ["index.html", "stats.json"]
    assert "no plots: matplotlib is not installed" in (report / "index.html").read_text()
