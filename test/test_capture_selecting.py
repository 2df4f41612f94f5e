"""capture_node's select mode without ROS: frames paired with the detector's boxes by stamp in
either order, the model's choice stored with its record, the bag exported as pre-labels."""

from __future__ import annotations

import logging

import numpy as np
from support.sampling import scene

from odet_ros.bags import make_typestore, read_messages
from odet_ros.capture import CaptureRecorder, SessionSettings
from odet_ros.capture.selecting import PAIRING_CAPACITY, SelectingCapture
from odet_ros.cli.main import main
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import read_manifest
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.detection.types import Detections
from odet_ros.imaging import numpy_to_image
from odet_ros.interfaces.header import make_header
from odet_ros.sampling import SamplerSettings
from odet_ros.selection import SELECTION_TOPIC, SelectionRecord, SelectionSettings
from odet_ros.selection.configure import ConfiguredSelection

TYPESTORE = make_typestore("humble")
SECOND = 1_000_000_000
TOPIC = "/camera/image_raw"


def frame(index: int) -> object:
    header = make_header(TYPESTORE, index * SECOND, "camera_optical_frame")
    return numpy_to_image(scene(index), "bgr8", header, TYPESTORE.types["sensor_msgs/msg/Image"])


def unsure(score: float = 0.4) -> Detections:
    return Detections.from_arrays(np.array([[20.0, 30.0, 120.0, 200.0]]), [score], [1])


def capture(tmp_path, **settings):
    session = SessionSettings(tmp_path / "captures", min_free_disk_mb=0)
    recorder = CaptureRecorder([TOPIC], SamplerSettings(), session, logging.getLogger("t"))
    settings = SelectionSettings(
        ("unsure",), (0.25, 0.6), per_minute=0, quality=SamplerSettings(), **settings
    )
    selection = ConfiguredSelection(settings, None, ("cups_v1", "0123456789ab"))
    selecting = SelectingCapture(recorder, TOPIC, selection)
    selecting.names = ["cup", "bottle"]
    return recorder, selecting


def test_frames_pair_with_their_detections_in_either_order_and_the_chosen_are_stored(tmp_path):
    recorder, selecting = capture(tmp_path)
    recorder.start()
    selecting.on_image(frame(1), 1 * SECOND)  # image first (the usual order)
    selecting.on_detections(1 * SECOND, unsure())
    selecting.on_detections(2 * SECOND, unsure())  # detections first
    selecting.on_image(frame(2), 2 * SECOND)
    selecting.on_image(frame(3), 3 * SECOND)
    selecting.on_detections(3 * SECOND, unsure(0.9))  # sure: not asked for
    selecting.on_image(frame(4), 4 * SECOND)  # the detector skipped it: never paired
    directory = recorder.stop()

    (bag,) = sorted(p for p in directory.iterdir() if p.is_dir())
    messages = list(read_messages(bag))
    records = [
        SelectionRecord.from_json(m.msg.data, "t") for m in messages if m.topic == SELECTION_TOPIC
    ]
    stored = [m for m in messages if m.topic == f"{TOPIC}/compressed"]
    assert [r.stamp_ns for r in records] == [1 * SECOND, 2 * SECOND]
    assert [m.msg.header.stamp.sec for m in stored] == [1, 2]
    assert all(r.topic == f"{TOPIC}/compressed" for r in records)  # where the frame is stored
    assert records[0].names == ["cup", "bottle"]
    assert (records[0].model, records[0].model_version) == ("cups_v1", "0123456789ab")
    assert selecting.selector.counts.seen == 3

    out = tmp_path / "ds"
    assert main(["bag", "export", str(bag), "--out", str(out)]) == 0
    dataset = Dataset.open(out)
    rows = read_manifest(dataset.manifest_path)
    assert [row.reasons for row in rows] == ["unsure", "unsure"]
    prelabels = Prelabels.load(dataset)
    assert prelabels.model(dataset.label_path(rows[0].file).name) == "cups_v1@0123456789ab"
    assert dataset.label_path(rows[0].file).read_text().startswith("1 ")
    assert dataset.names() == ["cup", "bottle"]


def test_nothing_is_judged_while_not_recording(tmp_path):
    recorder, selecting = capture(tmp_path)
    selecting.on_image(frame(1), SECOND)
    selecting.on_detections(SECOND, unsure())
    assert selecting.selector.counts.seen == 0
    assert recorder.session is None


def test_frames_the_detector_never_answers_leave_the_buffer(tmp_path):
    recorder, selecting = capture(tmp_path)
    recorder.start()
    for index in range(PAIRING_CAPACITY + 10):
        selecting.on_image(frame(index), index * SECOND)
    assert selecting.unpaired == 10
    assert selecting.values()["unpaired"] == "10"
    recorder.stop()


def test_ids_before_the_label_info_stand_for_themselves(tmp_path):
    recorder, selecting = capture(tmp_path)
    selecting.names = []
    recorder.start()
    selecting.on_detections(SECOND, Detections.from_arrays(np.array([[0, 0, 9, 9]]), [0.3], [2]))
    selecting.on_image(frame(1), SECOND)
    directory = recorder.stop()
    (bag,) = sorted(p for p in directory.iterdir() if p.is_dir())
    (message,) = [m for m in read_messages(bag) if m.topic == SELECTION_TOPIC]
    assert SelectionRecord.from_json(message.msg.data, "t").names == ["0", "1", "2"]
