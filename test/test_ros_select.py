"""Capture driven by the deployed model on a real ROS 2: `ros2 bag play` of the sample feeds
detect.launch.py and capture.launch.py select:=all; the capture bag holds the frames the model
asked for with their selection records, and `odet bag export` makes them pre-labelled images.

The model is the brightness test model installed as the bundle ``bright`` (see support/ros.py):
one box per frame scored by the frame's mean brightness, inside the unsure band on the sample."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

pytest.importorskip("rclpy")
pytest.importorskip("launch_ros")
pytest.importorskip("vision_msgs")

from diagnostic_msgs.msg import DiagnosticArray
from support.ros import BUNDLE_NAME, Launched, Listener, play_paused, resume

from odet_ros.bags import read_messages
from odet_ros.cli.main import main
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import read_manifest
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.sample.recording import IMAGE_TOPIC, INFO_TOPIC, write_sample
from odet_ros.sample.scene import SampleConfig
from odet_ros.selection import SELECTION_TOPIC, SelectionRecord

pytestmark = pytest.mark.slow  # `ros2 launch` twice and a bag played in real time


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    config = SampleConfig(segments=2, frames_per_segment=20)
    return write_sample(tmp_path_factory.mktemp("sample"), config, progress=False).bag


def _kept_by_reason(arrays) -> dict[str, int]:
    """capture_node's latest /diagnostics figures of frames kept per reason."""
    for array in reversed(arrays):
        for status in array.status:
            values = {v.key: v.value for v in status.values}
            if status.name.startswith("capture_node") and int(values.get("select_kept", 0)):
                return {k: int(v) for k, v in values.items() if k.startswith("kept_")}
    return {}


def test_capture_keeps_the_frames_the_model_asks_for_with_their_pre_labels(
    ros_env, tmp_path, recording
):
    out = tmp_path / "captures"
    detect = Launched(
        ["ros2", "launch", "odet_ros", "detect.launch.py", f"model:={BUNDLE_NAME}"],
        ros_env,
        tmp_path / "detect.log",
    )
    capture = Launched(
        ["ros2", "launch", "odet_ros", "capture.launch.py", "select:=all",
         f"model:={BUNDLE_NAME}", "per_minute:=600.0", f"output_dir:={out}"],
        ros_env,
        tmp_path / "capture.log",
    )  # fmt: skip
    with detect, capture, Listener() as listener:
        diagnostics = listener.subscribe(DiagnosticArray, "/diagnostics", 100)
        assert capture.wait_for_output("selecting frames of /camera/image_raw"), capture.output()
        node = listener.node
        assert listener.wait_until(lambda: node.count_subscribers("/detections") > 0)
        assert listener.wait_until(lambda: node.count_subscribers(IMAGE_TOPIC) >= 2)
        with play_paused(ros_env, tmp_path, recording, IMAGE_TOPIC, INFO_TOPIC) as play:
            resume(listener, IMAGE_TOPIC)
            assert play.wait() == 0, play.output()
        listener.wait_until(lambda: False, timeout=1.0)  # the last answers reach capture
        assert listener.wait_until(lambda: _kept_by_reason(diagnostics), timeout=15.0)
        assert capture.wait_for_output("paired frames (unsure"), capture.output()
        assert capture.stop(signal.SIGINT) == 0, capture.output()
        assert detect.stop() == 0, detect.output()
    assert "Traceback" not in capture.output() + detect.output()
    assert _kept_by_reason(diagnostics)["kept_unsure"] > 0

    (bag,) = sorted(p for p in out.glob("*/*") if p.is_dir())
    messages = list(read_messages(bag))
    records = [
        SelectionRecord.from_json(m.msg.data, str(bag))
        for m in messages
        if m.topic == SELECTION_TOPIC
    ]
    frames = [m for m in messages if m.topic == f"{IMAGE_TOPIC}/compressed"]
    assert len(records) == len(frames) >= 3, capture.output()
    assert all(r.reasons and r.model == BUNDLE_NAME and len(r.model_version) == 12 for r in records)
    assert records[0].names[0] == "bright"  # from the detector's LabelInfo
    played = {m.msg.header.stamp.sec * 10**9 + m.msg.header.stamp.nanosec
              for m in read_messages(recording, topics=[IMAGE_TOPIC])}  # fmt: skip
    assert {r.stamp_ns for r in records} <= played  # the frames' own stamps, paired exactly

    dataset_dir = tmp_path / "ds"
    assert main(["bag", "export", str(bag), "--out", str(dataset_dir)]) == 0
    dataset = Dataset.open(dataset_dir)
    rows = read_manifest(dataset.manifest_path)
    assert len(rows) == len(records) and all(row.reasons for row in rows)
    prelabels = Prelabels.load(dataset)
    marks = {prelabels.model(dataset.label_path(row.file).name) for row in rows}
    assert marks == {f"{BUNDLE_NAME}@{records[0].model_version}"}
