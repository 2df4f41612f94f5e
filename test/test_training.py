"""`odet train` on shapes generated here: transfer learning from the tiny model through the CLI
(TensorBoard logs, the bundle), training from a model YAML, the bundle exported, evaluated and
deployed; and the inputs it must refuse. A couple of epochs at 96-128 pixels: about a minute."""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("ultralytics")

from support.models import draw_scene

from odet_ros.cli.main import main
from odet_ros.detection import ModelBundle, load_detector
from odet_ros.selection.profile import ModelProfile, ScoreStats, TrainingViews
from odet_ros.training.data import open_dataset
from odet_ros.training.deploy import deploy
from odet_ros.training.export import ExportSettings, export_model
from odet_ros.training.train import TrainSettings, train

TWO_CLASSES = ["circle", "polygon"]  # the tiny model's square and triangle merged


def shapes_dataset(root, counts=(("train", 16), ("val", 6)), size=128, seed=3):
    """Generated circles and polygons in the Ultralytics layout; returns the data.yaml."""
    rng = np.random.default_rng(seed)
    for split, count in counts:
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        for i in range(count):
            image, labels = draw_scene(rng, size, size)
            cv2.imwrite(str(root / split / "images" / f"{i:02d}.png"), image)
            rows = [f"{min(int(c), 1)} {x:.6f} {y:.6f} {w:.6f} {h:.6f}" for c, x, y, w, h in labels]
            (root / split / "labels" / f"{i:02d}.txt").write_text("\n".join(rows) + "\n")
    config = {"path": str(root), "train": "train/images", "val": "val/images"}
    (root / "data.yaml").write_text(yaml.safe_dump({**config, "names": TWO_CLASSES}))
    return root / "data.yaml"


def odet(*args, cwd):
    """The `odet` command as a user runs it: its own process, outside pytest (Ultralytics turns
    its TensorBoard callback off under pytest)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    command = [sys.executable, "-m", "odet_ros.cli.main", *map(str, args)]
    return subprocess.run(
        command, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_fine_tuning_through_the_cli_logs_to_tensorboard_and_ends_in_a_bundle(
    tiny_models, tmp_path
):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    data = shapes_dataset(tmp_path / "shapes")
    done = odet(
        "train", "--data", data, "--model", tiny_models.model("tiny.pt"), "--epochs", 2,
        "--imgsz", 96, "--batch", 8, "--workers", 0, "--device", "cpu", "--mosaic", 0.5,
        "--project", tmp_path / "runs", "--name", "shapes",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "the detection head is rebuilt" in done.stderr  # 3 classes -> 2: said, not refused
    run = tmp_path / "runs" / "shapes"
    assert f"bundle: {run / 'bundle'}" in done.stdout

    bundle = ModelBundle.load(run / "bundle")
    assert bundle.model == "shapes.pt"
    assert bundle.names == TWO_CLASSES
    assert bundle.imgsz == (96, 96)
    assert bundle.dataset == str(data)
    assert bundle.provenance["dataset"]["hash"] == open_dataset(data).fingerprint
    arguments = bundle.provenance["training"]["arguments"]
    assert (arguments["epochs"], arguments["imgsz"], arguments["mosaic"]) == (2, 96, 0.5)
    assert set(bundle.metrics) == {"map50", "map50_95", "precision", "recall"}
    assert all(0.0 <= value <= 1.0 for value in bundle.metrics.values())
    assert load_detector(run / "bundle").names == TWO_CLASSES
    # what frame selection measures this model against: its scores on val, its training views
    scores = ScoreStats.from_dict(bundle.scores, "bundle")
    assert scores.split == "val" and scores.images == len(open_dataset(data).splits["val"].samples)
    views = TrainingViews.load(run / "bundle" / bundle.training_views)
    assert views.images == len(open_dataset(data).splits["train"].samples)
    assert (run / "bundle" / bundle.training_views).stat().st_size < 1_000_000
    profile = ModelProfile.of_model(run / "bundle")
    assert profile is not None and 0 < profile.floor < profile.sure <= 1

    (events,) = run.glob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    assert {"train/box_loss", "metrics/mAP50-95(B)"} <= set(accumulator.Tags()["scalars"])
    assert len(accumulator.Scalars("train/box_loss")) == 2  # one point per epoch

    # the rest of the way to the robot: export (on the bundle's own dataset), evaluate, deploy
    result = export_model(ExportSettings(run / "bundle", "onnx", out=tmp_path / "shapes-onnx"))
    assert result.accuracy.exported.dataset == data
    assert result.accuracy.exported.split == "val"  # the dataset has no test split
    exported = ModelBundle.load(result.bundle)
    assert exported.provenance["training"] == bundle.provenance["training"]
    assert ScoreStats.from_dict(exported.scores, "export").split == "val"  # the export's own
    assert (result.bundle / exported.training_views).read_bytes() == (
        run / "bundle" / bundle.training_views
    ).read_bytes()  # the training views travel with the model
    assert exported.run == str(run)
    deployment = deploy(result.bundle, into=tmp_path / "models")
    assert deployment.backend == "onnxruntime"


@pytest.mark.slow
def test_training_from_a_model_yaml_writes_the_same_bundle(tmp_path):
    data = shapes_dataset(tmp_path / "shapes", counts=(("train", 8), ("val", 4)), size=96)
    settings = TrainSettings(
        data=data,
        model="yolo11n.yaml",
        epochs=1,
        imgsz=64,
        batch=4,
        device="cpu",
        workers=0,
        project=tmp_path / "runs",
        name="scratch",
        tensorboard=False,
    )
    result = train(settings)
    bundle = ModelBundle.load(result.bundle)
    assert result.bundle == tmp_path / "runs" / "scratch" / "bundle"
    assert bundle.names == TWO_CLASSES
    assert bundle.provenance["training"]["source_model"] == "yolo11n.yaml"
    assert bundle.metrics == result.metrics
    # Ultralytics trained on exactly the images odet checked and hashed
    (listing,) = (tmp_path / "runs" / ".odet-data").glob("*/train.txt")
    trained_on = listing.read_text().split()
    assert trained_on == [str(s.image) for s in open_dataset(data).splits["train"].samples]


def test_weights_that_are_not_local_are_not_downloaded(tmp_path, capsys):
    data = shapes_dataset(tmp_path / "shapes", counts=(("train", 2), ("val", 1)))
    code = main(["train", "--data", str(data), "--model", "yolo11n.pt", "--epochs", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "yolo11n.pt: no such weights file. odet downloads weights only when asked" in err
    assert "pass --download" in err and "put it at" in err
    assert not (tmp_path / "yolo11n.pt").exists()


def test_a_dataset_without_labels_is_refused_before_training(tmp_path, capsys):
    data = shapes_dataset(tmp_path / "shapes", counts=(("train", 2), ("val", 1)))
    for label in (tmp_path / "shapes" / "train" / "labels").iterdir():
        label.unlink()
    runs = tmp_path / "runs"
    code = main(["train", "--data", str(data), "--model", "yolo11n.yaml", "--project", str(runs)])
    assert code == 1
    assert "split 'train' has no labels" in capsys.readouterr().err
    assert not runs.exists()


def test_settings_errors_name_the_option(tmp_path, capsys):
    data = shapes_dataset(tmp_path / "shapes", counts=(("train", 2), ("val", 1)))
    cases = {
        ("--model", "yolo11n.yaml", "--device", "cuda:7"): "--device cuda:7: GPU 7 not found",
        ("--resume", "--project", str(tmp_path / "runs")): "--resume: no checkpoint at",
        ("--model", "yolo11n.yaml", "--optimizer", "Adamm"): "--optimizer must be one of",
        ("--epochs", "1"): "--model is required",
    }
    for arguments, message in cases.items():
        assert main(["train", "--data", str(data), *arguments]) == 1
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_resume_continues_an_interrupted_run(tmp_path):
    """A run stopped after its first epoch (last.pt keeps the optimizer) is finished by --resume
    and ends in the bundle like any other."""
    from odet_ros.ultralytics_env import import_ultralytics

    data = shapes_dataset(tmp_path / "shapes", counts=(("train", 8), ("val", 4)), size=96)
    interrupted = import_ultralytics().YOLO("yolo11n.yaml")

    def stop(trainer):
        raise KeyboardInterrupt  # the user's Ctrl-C after epoch 1 of 2

    interrupted.add_callback("on_fit_epoch_end", stop)
    with pytest.raises(KeyboardInterrupt):
        interrupted.train(
            data=str(data), epochs=2, imgsz=64, batch=4, workers=0, device="cpu",
            project=str(tmp_path / "runs"), name="cut", plots=False,
        )  # fmt: skip
    settings = TrainSettings(
        data=data, model="", resume=True, project=tmp_path / "runs", name="cut", workers=0
    )
    result = train(settings)
    assert result.run == tmp_path / "runs" / "cut"
    rows = (result.run / "results.csv").read_text().splitlines()
    assert [row.split(",")[0].strip() for row in rows[1:]] == ["1", "2"]  # epoch 2 was added
    bundle = ModelBundle.load(result.bundle)
    assert bundle.imgsz == (64, 64)  # the run's own size, not the default 640
    assert bundle.provenance["training"]["arguments"]["resume"] is True
