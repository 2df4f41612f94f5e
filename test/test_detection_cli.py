"""`odet detect` on an image, an image folder and a video, run as the user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from odet_ros.detection import load_detector

pytestmark = pytest.mark.slow  # every test runs the tiny models (trained on first use)


def odet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "odet_ros.cli.main", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def image_folder(tiny_models, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for path in tiny_models.images:
        shutil.copy(path, folder / path.name)
    return folder


def test_folder_gives_one_line_per_image_with_the_detector_boxes(
    tiny_models, image_folder, tmp_path
):
    out = tmp_path / "out"
    model = tiny_models.model("tiny.onnx")
    result = odet(
        "detect", str(model), str(image_folder), "--out", str(out), "--conf", "0.1", "--annotated"
    )
    assert result.returncode == 0, result.stderr
    lines = read_jsonl(out / "detections.jsonl")
    assert [line["frame"] for line in lines] == sorted(p.name for p in tiny_models.images)
    detector = load_detector(model, conf=0.1)
    for line in lines:
        expected = detector.detect(cv2.imread(str(image_folder / line["frame"])))
        boxes = line["detections"]
        assert len(boxes) == len(expected)
        np.testing.assert_allclose(
            [b["xyxy"] for b in boxes] or np.zeros((0, 4)), expected.xyxy, atol=0.01
        )
        assert [b["class_name"] for b in boxes] == [
            tiny_models.names[i] for i in expected.class_ids
        ]
        assert [b["class_id"] for b in boxes] == expected.class_ids.tolist()
    annotated = sorted(p.name for p in (out / "annotated").iterdir())
    assert annotated == [line["frame"] for line in lines]
    assert not list(out.rglob("*.partial*"))


def test_single_image_with_class_filter_by_name(tiny_models, tmp_path):
    image = tiny_models.images[4]
    out = tmp_path / "out"
    model = str(tiny_models.model("tiny.tflite"))
    result = odet(
        "detect", model, str(image), "--out", str(out), "--conf", "0.1", "--classes", "square"
    )
    assert result.returncode == 0, result.stderr
    (line,) = read_jsonl(out / "detections.jsonl")
    assert line["frame"] == image.name
    assert {b["class_name"] for b in line["detections"]} == {"square"}


def test_video_frames_are_keyed_by_index_and_annotated_into_an_mp4(tiny_models, tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (320, 180))
    frames = [cv2.resize(cv2.imread(str(p)), (320, 180)) for p in tiny_models.images]
    for frame in frames:
        writer.write(frame)
    writer.release()
    out = tmp_path / "out"
    result = odet(
        "detect", str(tiny_models.model("tiny.onnx")), str(video), "--out", str(out), "--annotated"
    )
    assert result.returncode == 0, result.stderr
    lines = read_jsonl(out / "detections.jsonl")
    assert [line["frame"] for line in lines] == list(range(len(frames)))
    assert sum(len(line["detections"]) for line in lines) > 0
    capture = cv2.VideoCapture(str(out / "annotated.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)
    capture.release()


def test_unreadable_image_in_a_folder_is_skipped_and_the_rest_written(
    tiny_models, image_folder, tmp_path
):
    (image_folder / "broken.png").write_bytes(b"\x89PNG truncated")
    out = tmp_path / "out"
    result = odet(
        "detect", str(tiny_models.model("tiny.onnx")), str(image_folder), "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "skipping unreadable image" in result.stderr and "broken.png" in result.stderr
    assert len(read_jsonl(out / "detections.jsonl")) == len(tiny_models.images)
    assert "1 unreadable skipped" in result.stdout


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.png", "missing.png: no such file or folder"),
        ("notes.txt", "notes.txt: not an image"),
    ],
)
def test_bad_source_is_one_line_naming_it(tiny_models, tmp_path, source, message):
    (tmp_path / "notes.txt").write_text("not a video")
    out = tmp_path / "out"
    result = odet(
        "detect", str(tiny_models.model("tiny.onnx")), str(tmp_path / source), "--out", str(out)
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("odet detect: error: ")
    assert message in result.stderr
    assert not out.exists()


def test_existing_results_survive_a_failed_run(tiny_models, image_folder, tmp_path):
    out = tmp_path / "out"
    model = str(tiny_models.model("tiny.onnx"))
    assert odet("detect", model, str(image_folder), "--out", str(out)).returncode == 0
    before = (out / "detections.jsonl").read_text()
    failed = odet("detect", model, str(image_folder), "--out", str(out), "--classes", "hexagon")
    assert failed.returncode == 1 and "unknown class 'hexagon'" in failed.stderr
    assert (out / "detections.jsonl").read_text() == before
