"""`odet bag select` over the sample recording, then `odet bag export`: the kept frames arrive as
pre-labelled images whose manifest rows say why they were kept.

The model is test/data/brightness_model.onnx: one box whose class-0 score is the image's mean
brightness, so how sure it is follows the sample's lighting."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from odet_ros.bags import read_messages
from odet_ros.cli.main import main
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import read_manifest
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.detection.bundle import ModelBundle, model_identity
from odet_ros.labels.yolo import read_label_file
from odet_ros.sample.recording import IMAGE_TOPIC, INFO_TOPIC, write_sample
from odet_ros.sample.scene import SampleConfig, generate_frames
from odet_ros.selection import SELECTION_TOPIC, SelectionRecord
from odet_ros.selection.profile import QUANTILES, VIEWS_FILE, ScoreStats, TrainingViews

pytest.importorskip("onnxruntime")
MODEL = "test/data/brightness_model.onnx"
CONFIG = SampleConfig(seed=3, segments=4, frames_per_segment=30, width=160, height=120)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("sample"), CONFIG, progress=False)


def _select(sample, out, *extra):
    return main(["bag", "select", str(sample.bag), "--model", MODEL, "--topic", IMAGE_TOPIC,
                 "--out", str(out), *extra])  # fmt: skip


def test_selected_frames_export_as_prelabelled_images_with_their_reasons(sample, tmp_path, capsys):
    selected = tmp_path / "selected_bag"
    assert _select(sample, selected, "--per-minute", "600") == 0
    printed = capsys.readouterr().out
    kept = int(printed.split("kept ")[1].split()[0])
    assert 0 < kept < CONFIG.segments * CONFIG.frames_per_segment
    messages = list(read_messages(selected))
    records = [
        SelectionRecord.from_json(m.msg.data, "test")
        for m in messages
        if m.topic == SELECTION_TOPIC
    ]
    images = [m for m in messages if m.topic == IMAGE_TOPIC]
    assert len(records) == len(images) == kept
    assert sum(m.topic == INFO_TOPIC for m in messages) == kept  # each frame's CameraInfo
    name, version = model_identity(MODEL)
    assert all(r.reasons and (r.model, r.model_version) == (name, version) for r in records)
    assert [r.stamp_ns for r in records] == [
        m.msg.header.stamp.sec * 10**9 + m.msg.header.stamp.nanosec for m in images
    ]

    dataset_dir = tmp_path / "ds"
    assert main(["bag", "export", str(selected), "--out", str(dataset_dir)]) == 0
    dataset = Dataset.open(dataset_dir)
    rows = read_manifest(dataset.manifest_path)
    assert len(rows) == kept
    by_stamp = {r.stamp_ns: r for r in records}
    prelabels = Prelabels.load(dataset)
    assert dataset.names() == ["bright", "never"]
    for row in rows:
        record = by_stamp[row.stamp_ns]
        assert row.reasons == ";".join(record.reasons)
        label = dataset.label_path(row.file)
        assert prelabels.model(label.name) == f"brightness_model.onnx@{record.model_version}"
        assert prelabels.scores(label.name) == pytest.approx(record.detections.scores.tolist())
        class_ids, xyxy = read_label_file(label)
        size = np.array([record.width, record.height] * 2)
        np.testing.assert_allclose(xyxy, record.detections.xyxy / size, atol=1e-5)
        assert class_ids.tolist() == record.detections.class_ids.tolist()

    before = {row.file: dataset.label_path(row.file).read_bytes() for row in rows}
    assert main(["label", str(dataset_dir)]) == 0  # no --model: the selection's pre-labels go out
    tasks = json.loads((dataset_dir / "labelling" / "labelstudio" / "tasks.json").read_text())
    predicted = [task["predictions"][0] for task in tasks if "predictions" in task]
    assert len(predicted) == kept
    assert {p["model_version"] for p in predicted} == {f"brightness_model.onnx@{version}"}
    assert {row.file: dataset.label_path(row.file).read_bytes() for row in rows} == before


def test_a_person_s_label_survives_a_second_export(sample, tmp_path):
    selected = tmp_path / "selected_bag"
    assert _select(sample, selected, "--per-minute", "600") == 0
    dataset_dir = tmp_path / "ds"
    assert main(["bag", "export", str(selected), "--out", str(dataset_dir)]) == 0
    dataset = Dataset.open(dataset_dir)
    first = read_manifest(dataset.manifest_path)[0].file
    dataset.label_path(first).write_text("1 0.5 0.5 0.1 0.1\n")  # corrected by a person
    prelabels = Prelabels.load(dataset)
    prelabels.unmark(dataset.label_path(first).name)
    prelabels.save()
    assert main(["bag", "export", str(selected), "--out", str(dataset_dir)]) == 0
    assert dataset.label_path(first).read_text() == "1 0.5 0.5 0.1 0.1\n"


def test_the_total_budget_holds_and_is_spread_over_the_recording(sample, tmp_path, capsys):
    selected = tmp_path / "selected_bag"
    assert _select(sample, selected, "--budget", "3", "--reasons", "novel") == 0
    assert "kept 3 of" in capsys.readouterr().out
    stamps = [m.timestamp for m in read_messages(selected) if m.topic == IMAGE_TOPIC]
    assert len(stamps) == 3
    assert stamps[-1] - stamps[0] > 5e9  # not the first three frames: spread over the bag


def test_a_topic_that_is_not_there_is_named(sample, tmp_path, capsys):
    assert main(["bag", "select", str(sample.bag), "--model", MODEL, "--topic", "/nope",
                 "--out", str(tmp_path / "x")]) == 1  # fmt: skip
    assert "no image topic '/nope'" in capsys.readouterr().err
    assert main(["bag", "select", str(sample.bag), "--model", MODEL, "--reasons", "curious",
                 "--out", str(tmp_path / "x")]) == 1  # fmt: skip
    assert "selection reasons must be some of" in capsys.readouterr().err
    assert main(["bag", "select", str(sample.bag), "--model", MODEL, "--unsure-share", "0",
                 "--out", str(tmp_path / "x")]) == 1  # fmt: skip
    assert "unsure share must be within (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_frames_that_repeat_the_training_views_are_left_out_unless_asked(sample, tmp_path, capsys):
    """A model trained on this very recording is unsure of all of it (its false positives reach
    0.99): every frame nearly repeats a training image, so none is kept; ``--trained-view 0``
    keeps them."""
    bundle = tmp_path / "trained_here"
    bundle.mkdir()
    shutil.copy(MODEL, bundle / "model.onnx")
    TrainingViews.measure(frame.image for frame in generate_frames(CONFIG)).save(
        bundle / VIEWS_FILE
    )
    fp = tuple(float(v) for v in np.interp(QUANTILES, [0, 0.75, 0.95, 1], [0.05, 0.1, 0.99, 1]))
    stats = ScoreStats("val", 20, 0.5, fp, fp, fp, (1.0,) * len(QUANTILES))
    ModelBundle("model.onnx", ["bright", "never"], scores=stats.to_dict(),
                training_views=VIEWS_FILE).save(bundle)  # fmt: skip
    args = ["bag", "select", str(sample.bag), "--model", str(bundle), "--topic", IMAGE_TOPIC,
            "--reasons", "unsure"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "none")]) == 0
    out = capsys.readouterr().out
    assert "kept 0 of" in out and "trained_view" in out
    assert main([*args, "--trained-view", "0", "--out", str(tmp_path / "some")]) == 0
    assert "kept 0 of" not in capsys.readouterr().out
