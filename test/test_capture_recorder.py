"""The capture recorder end to end without ROS: rosbags messages in, a real bag out."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.calibration import OST_YAML
from support.sampling import blurred, noisy_copy, scene

from odet_ros.bags import make_typestore, read_messages
from odet_ros.camera import load_calibration
from odet_ros.capture import CaptureRecorder, CaptureSession, SessionSettings
from odet_ros.errors import OdetError
from odet_ros.imaging import (
    compressed_to_numpy,
    image_to_numpy,
    numpy_to_compressed,
    numpy_to_image,
)
from odet_ros.imaging.cdr import image_from_cdr
from odet_ros.interfaces.header import make_header
from odet_ros.sampling import Reason, SamplerSettings

TYPESTORE = make_typestore("humble")
TYPES = TYPESTORE.types
MS = 1_000_000
SAMPLING = SamplerSettings(period=0.0, blur_threshold=200.0, duplicate_threshold=4.0)


class Logger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, message):
        self.lines.append(("info", message))

    def warning(self, message):
        self.lines.append(("warning", message))

    def error(self, message):
        self.lines.append(("error", message))


def raw(image: np.ndarray, index: int, encoding="bgr8", frame_id="cam") -> object:
    header = make_header(TYPESTORE, index * 100 * MS, frame_id)
    if encoding == "rgb8":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return numpy_to_image(image, encoding, header, TYPES["sensor_msgs/msg/Image"])


def compressed(image: np.ndarray, index: int) -> object:
    header = make_header(TYPESTORE, index * 100 * MS, "cam")
    return numpy_to_compressed(image, header, TYPES["sensor_msgs/msg/CompressedImage"])


def camera_info(path: Path, width: int = 320) -> object:
    """A rosbags CameraInfo from a real ost.yaml."""
    calibration = load_calibration(path)
    roi = TYPES["sensor_msgs/msg/RegionOfInterest"](0, 0, 0, 0, False)
    return TYPES["sensor_msgs/msg/CameraInfo"](
        make_header(TYPESTORE, 0, "cam"), calibration.height, width,
        calibration.distortion_model, np.array(calibration.d), np.array(calibration.k),
        np.array(calibration.r), np.array(calibration.p), 0, 0, roi,
    )  # fmt: skip


def recorder(tmp_path: Path, topics=("/cam/image_raw",), free=lambda _: 1e9, **options):
    settings = SessionSettings(tmp_path / "out", min_free_disk_mb=100)
    open_session = functools.partial(
        CaptureSession, free_disk=free, now=lambda: datetime(2024, 1, 2, 3, 4, 5)
    )
    logger = Logger()
    capture = CaptureRecorder(
        list(topics), SAMPLING, settings, logger, open_session=open_session, **options
    )
    return capture, logger


# frame, kept? (a known stream: duplicates of the last kept view and blurred frames)
STREAM = [
    (scene(1), True),
    (noisy_copy(scene(1), 10), False),
    (blurred(scene(2)), False),
    (scene(2), True),
    (noisy_copy(scene(2), 11), False),
    (scene(3), True),
]


def test_raw_stream_keeps_exactly_the_expected_frames_as_jpeg(tmp_path: Path):
    ost = tmp_path / "ost.yaml"
    ost.write_text(OST_YAML)
    capture, _ = recorder(tmp_path, jpeg_quality=95)
    directory = capture.start()
    capture.on_camera_info("/cam/image_raw", camera_info(ost))
    decisions = [
        capture.on_image("/cam/image_raw", raw(image, i), 5_000 + i)
        for i, (image, _) in enumerate(STREAM)
    ]
    assert [d.keep for d in decisions] == [kept for _, kept in STREAM]
    assert capture.stop() == directory == tmp_path / "out" / "capture_20240102_030405"

    messages = list(read_messages(sorted(directory.iterdir())))
    assert [m.topic for m in messages] == ["/cam/camera_info"] + ["/cam/image_raw/compressed"] * 3
    info = messages[0].msg
    assert info.k[0] == 615.12 and info.distortion_model == "plumb_bob" and len(info.d) == 5
    kept = [image for image, keep in STREAM if keep]
    for message, image, index in zip(messages[1:], kept, (0, 3, 5), strict=True):
        assert message.msgtype == "sensor_msgs/msg/CompressedImage"
        assert message.timestamp == 5_000 + index
        assert message.msg.header.stamp.sec * 10**9 + message.msg.header.stamp.nanosec == (
            index * 100 * MS
        )
        assert message.msg.header.frame_id == "cam"
        decoded = compressed_to_numpy(message.msg, "bgr8").astype(int)
        assert np.abs(decoded - image).mean() < 3  # JPEG at quality 95


def test_camera_info_is_stored_again_only_when_it_changes(tmp_path: Path):
    ost = tmp_path / "ost.yaml"
    ost.write_text(OST_YAML)
    capture, _ = recorder(tmp_path)
    capture.start()
    capture.on_camera_info("/cam/image_raw", camera_info(ost))
    capture.on_image("/cam/image_raw", raw(scene(1), 0), 1)
    capture.on_camera_info("/cam/image_raw", camera_info(ost))  # same again
    capture.on_image("/cam/image_raw", raw(scene(2), 1), 2)
    capture.on_camera_info("/cam/image_raw", camera_info(ost, width=640))  # changed
    capture.on_image("/cam/image_raw", raw(scene(3), 2), 3)
    directory = capture.stop()
    messages = list(read_messages(sorted(directory.iterdir())))
    infos = [m.msg.width for m in messages if m.topic == "/cam/camera_info"]
    assert infos == [320, 640]


def test_compressed_input_is_stored_without_re_encoding(tmp_path: Path):
    capture, _ = recorder(tmp_path, topics=["/front/image_raw/compressed"])
    capture.start()
    incoming = [compressed(image, i) for i, (image, _) in enumerate(STREAM)]
    for i, msg in enumerate(incoming):
        capture.on_image("/front/image_raw/compressed", msg, i + 1)
    directory = capture.stop()
    messages = list(read_messages(sorted(directory.iterdir())))
    assert [m.timestamp for m in messages] == [1, 4, 6]
    for message in messages:
        original = incoming[message.timestamp - 1]
        assert bytes(message.msg.data) == bytes(original.data)
        assert message.msg.format == original.format


def test_raw_storage_keeps_the_source_encoding(tmp_path: Path):
    capture, _ = recorder(tmp_path, store_compressed=False)
    capture.start()
    for i, (image, _) in enumerate(STREAM):
        capture.on_image("/cam/image_raw", raw(image, i, encoding="rgb8"), i + 1)
    directory = capture.stop()
    messages = list(read_messages(sorted(directory.iterdir())))
    assert [(m.topic, m.msg.encoding) for m in messages] == [("/cam/image_raw", "rgb8")] * 3
    kept = [image for image, keep in STREAM if keep]
    for message, image in zip(messages, kept, strict=True):
        assert np.array_equal(image_to_numpy(message.msg, "bgr8"), image)


def test_compressed_input_stored_raw_is_decoded_to_bgr8(tmp_path: Path):
    capture, _ = recorder(tmp_path, topics=["/cam/image_raw/compressed"], store_compressed=False)
    capture.start()
    capture.on_image("/cam/image_raw/compressed", compressed(scene(1), 0), 1)
    directory = capture.stop()
    (message,) = read_messages(sorted(directory.iterdir()))
    assert (message.topic, message.msg.encoding) == ("/cam/image_raw", "bgr8")


def test_frames_are_ignored_while_stopped_but_a_snapshot_is_taken(tmp_path: Path):
    capture, _ = recorder(tmp_path, topics=["/left/image_raw", "/right/image_raw"])
    assert capture.on_image("/left/image_raw", raw(scene(1), 0), 1) is None
    assert capture.session is None and capture.status()[0].counters.seen == 0

    capture.snapshot()
    soft = raw(blurred(scene(1)), 1)
    decision = capture.on_image("/left/image_raw", soft, 2)
    assert decision.keep and decision.reason is Reason.SNAPSHOT
    assert capture.on_image("/left/image_raw", raw(scene(5), 2), 3) is None  # one frame only
    assert capture.on_image("/right/image_raw", raw(scene(6), 3), 4).keep
    assert not capture.recording
    directory = capture.stop()
    messages = list(read_messages(sorted(directory.iterdir())))
    assert [(m.topic, m.timestamp) for m in messages] == [
        ("/left/image_raw/compressed", 2),
        ("/right/image_raw/compressed", 4),
    ]


def test_each_start_after_a_stop_is_a_new_session(tmp_path: Path):
    capture, _ = recorder(tmp_path)
    first = capture.start()
    assert capture.start() == first  # already recording: same session
    capture.on_image("/cam/image_raw", raw(scene(1), 0), 1)
    capture.stop()
    assert capture.stop() is None
    second = capture.start()
    assert second != first and second.name == first.name + "_1"
    capture.stop()


def test_low_disk_stops_recording_with_an_error_log(tmp_path: Path):
    free = {"mb": 1000.0}
    clock = {"now": 0.0}
    settings = SessionSettings(tmp_path / "out", min_free_disk_mb=100)
    logger = Logger()
    capture = CaptureRecorder(
        ["/cam/image_raw"],
        SamplerSettings(),
        settings,
        logger,
        open_session=functools.partial(
            CaptureSession, free_disk=lambda _: free["mb"], clock=lambda: clock["now"]
        ),
    )
    directory = capture.start()
    capture.on_image("/cam/image_raw", raw(scene(1), 0), 1)
    free["mb"], clock["now"] = 50.0, 10.0
    capture.tick()
    assert not capture.recording and capture.session is None
    assert "free disk 50 MB" in capture.last_error
    assert logger.lines[-1][0] == "error" and "recording stopped" in logger.lines[-1][1]
    assert capture.on_image("/cam/image_raw", raw(scene(2), 1), 2) is None
    (part,) = directory.iterdir()
    assert (part / "metadata.yaml").is_file()
    assert len(list(read_messages([part]))) == 1


def test_start_on_a_full_disk_is_a_clear_error(tmp_path: Path):
    capture, _ = recorder(tmp_path, free=lambda _: 10.0)
    with pytest.raises(OdetError, match="min_free_disk_mb"):
        capture.start()
    assert not capture.recording


def test_unusable_frames_are_counted_and_logged_once(tmp_path: Path):
    capture, logger = recorder(tmp_path)
    capture.start()
    broken = raw(scene(1), 0)
    broken.data = broken.data[:100]
    assert capture.on_image("/cam/image_raw", broken, 1) is None
    assert capture.on_image("/cam/image_raw", broken, 2) is None
    assert capture.status()[0].invalid == 2
    warnings = [line for level, line in logger.lines if level == "warning"]
    assert len(warnings) == 1 and "/cam/image_raw" in warnings[0]
    assert capture.on_image("/cam/image_raw", raw(scene(1), 1), 3).keep
    capture.stop()


def test_serialized_frames_are_read_in_place_and_bytes_that_are_no_image_are_unusable(
    tmp_path: Path,
):
    capture, _ = recorder(tmp_path)
    capture.start()
    decode = functools.partial(
        image_from_cdr, make_header=lambda s, n, f: make_header(TYPESTORE, s * 10**9 + n, f)
    )
    wire = bytes(TYPESTORE.serialize_cdr(raw(scene(1), 0), "sensor_msgs/msg/Image"))
    assert capture.read("/cam/image_raw", decode, wire[:40]) is None
    assert capture.status()[0].invalid == 1
    frame = capture.read("/cam/image_raw", decode, wire)
    assert frame is not None and frame.header.frame_id == "cam"
    assert capture.on_image("/cam/image_raw", frame, 1).keep
    capture.stop()


def test_thresholds_change_at_run_time_without_losing_a_calibration(tmp_path: Path):
    capture, logger = recorder(tmp_path)
    capture.start()
    capture.calibrate_blur(seconds=0.3, percentile=50)
    for i in range(6):
        capture.on_image("/cam/image_raw", raw(scene(i), i), i)
    calibrated = capture.status()[0].settings.blur_threshold
    assert calibrated != SAMPLING.blur_threshold
    assert any("blur threshold calibrated" in line for _, line in logger.lines)
    capture.configure_sampling(period=2.5, duplicate_threshold=9.0)
    status = capture.status()[0]
    assert (status.settings.period, status.settings.duplicate_threshold) == (2.5, 9.0)
    assert status.settings.blur_threshold == calibrated
    capture.configure_sampling(blur_threshold=1.0)
    assert capture.status()[0].settings.blur_threshold == 1.0
    capture.stop()


def test_summary_line_has_the_counters_of_each_camera(tmp_path: Path):
    capture, _ = recorder(tmp_path)
    capture.start()
    for i, (image, _) in enumerate(STREAM):
        capture.on_image("/cam/image_raw", raw(image, i), i + 1)
    line = capture.summary()
    assert line.startswith("recording to ")
    assert "/cam/image_raw: seen 6 kept 3 blurred 1 duplicate 2 too_soon 0" in line
    capture.stop()
    assert capture.summary().startswith("stopped |")


def test_diagnostic_values_are_the_counters_and_the_session(tmp_path: Path):
    capture, _ = recorder(tmp_path)
    capture.start()
    for i, (image, _) in enumerate(STREAM):
        capture.on_image("/cam/image_raw", raw(image, i), i + 1)
    values = capture.status()[0].values(capture.session)
    assert all(isinstance(value, str) for value in values.values())  # as KeyValue takes them
    assert (values["seen"], values["kept"], values["blurred"], values["duplicate"]) == (
        "6",
        "3",
        "1",
        "2",
    )
    assert values["session"] == str(capture.session.directory)
    assert int(values["messages_written"]) >= 3
    capture.stop()
    assert capture.status()[0].values(None)["session"] == ""


def test_repeated_camera_topics_are_refused(tmp_path: Path):
    with pytest.raises(OdetError, match="same camera twice: /cam/image_raw"):
        recorder(tmp_path, topics=["/cam/image_raw", "/cam/image_raw/compressed"])
