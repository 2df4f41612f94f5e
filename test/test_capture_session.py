"""The recording session: real mcap bags written, split, flushed, killed and read back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader
from support.disk import fill, small_disk

from odet_ros.bags import make_typestore, read_messages
from odet_ros.capture import CaptureSession, LowDiskError, SessionSettings
from odet_ros.capture.session import DISK_CHECK_PERIOD, MB
from odet_ros.errors import OdetError
from odet_ros.imaging import compressed_to_numpy, numpy_to_compressed
from odet_ros.interfaces.header import make_header

TYPESTORE = make_typestore("humble")
COMPRESSED = "sensor_msgs/msg/CompressedImage"
TOPIC = "/cam/image_raw/compressed"
STARTED = datetime(2024, 5, 17, 9, 30, 5)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def frame(index: int, size=(48, 64)) -> object:
    """A JPEG CompressedImage of noise (so it does not compress away), stamped `index` ms."""
    pixels = np.random.default_rng(index).integers(0, 256, (*size, 3), dtype=np.uint8)
    header = make_header(TYPESTORE, index * 1_000_000, "cam")
    return numpy_to_compressed(pixels, header, TYPESTORE.types[COMPRESSED])


def session(tmp_path: Path, clock: Clock | None = None, free=lambda _: 1e9, **settings):
    return CaptureSession(
        SessionSettings(tmp_path / "out", **settings),
        free_disk=free,
        clock=clock or Clock(),
        now=lambda: STARTED,
    )


def stored(paths: list[Path]) -> list:
    return list(read_messages(paths))


def test_frames_are_written_to_a_timestamped_session_folder(tmp_path: Path):
    recording = session(tmp_path, prefix="scout")
    written = [frame(i) for i in range(5)]
    for i, msg in enumerate(written):
        recording.write(TOPIC, COMPRESSED, (i + 1) * 1000, msg)
    recording.close()
    assert recording.directory == tmp_path / "out" / "scout_20240517_093005"
    assert recording.parts == [recording.directory / "scout_20240517_093005_0"]
    assert (recording.parts[0] / "metadata.yaml").is_file()
    messages = stored(recording.parts)
    assert [m.timestamp for m in messages] == [1000, 2000, 3000, 4000, 5000]
    assert {m.topic for m in messages} == {TOPIC}
    for message, original in zip(messages, written, strict=True):
        assert np.array_equal(compressed_to_numpy(message.msg), compressed_to_numpy(original))
        assert message.msg.header.stamp.nanosec == original.header.stamp.nanosec


def test_a_second_session_in_the_same_second_gets_its_own_folder(tmp_path: Path):
    first, second = session(tmp_path), session(tmp_path)
    assert first.directory.name == "capture_20240517_093005"
    assert second.directory.name == "capture_20240517_093005_1"


def test_no_bag_is_left_behind_when_nothing_was_written(tmp_path: Path):
    recording = session(tmp_path)
    recording.close()
    assert recording.parts == []
    assert list(recording.directory.iterdir()) == []


def test_split_by_size(tmp_path: Path):
    limit = 0.02 * MB
    recording = session(tmp_path, split_size_mb=0.02)
    for i in range(30):
        recording.write(TOPIC, COMPRESSED, i + 1, frame(i))
    recording.close()
    assert len(recording.parts) > 2
    sizes = [[len(m.raw) for m in stored([part])] for part in recording.parts]
    for part in sizes[:-1]:  # a part rolls over with the first message past the limit
        assert sum(part) >= limit > sum(part) - part[-1]
    assert [m.timestamp for m in stored(recording.parts)] == list(range(1, 31))
    assert all((part / "metadata.yaml").is_file() for part in recording.parts)


def test_split_by_duration(tmp_path: Path):
    clock = Clock()
    recording = session(tmp_path, clock, split_duration=3.0)
    for i in range(8):
        recording.write(TOPIC, COMPRESSED, i + 1, frame(i))
        clock.now += 1.0
    recording.close()
    assert [len(stored([part])) for part in recording.parts] == [3, 3, 2]


def test_latched_camera_info_opens_every_part(tmp_path: Path):
    clock = Clock()
    recording = session(tmp_path, clock, split_duration=2.0)
    info = TYPESTORE.types["sensor_msgs/msg/CameraInfo"]
    roi = TYPESTORE.types["sensor_msgs/msg/RegionOfInterest"](0, 0, 0, 0, False)
    camera_info = info(
        make_header(TYPESTORE, 0, "cam"), 48, 64, "plumb_bob", np.zeros(5), np.eye(3).ravel(),
        np.eye(3).ravel(), np.zeros(12), 0, 0, roi,
    )  # fmt: skip
    recording.latch("/cam/camera_info", "sensor_msgs/msg/CameraInfo", 1, camera_info)
    for i in range(4):
        recording.write(TOPIC, COMPRESSED, i + 2, frame(i))
        clock.now += 1.0
    recording.close()
    topics = [[m.topic for m in stored([part])] for part in recording.parts]
    assert topics == [["/cam/camera_info", TOPIC, TOPIC], ["/cam/camera_info", TOPIC, TOPIC]]


def test_flush_is_due_after_flush_period_even_without_new_frames(tmp_path: Path):
    clock = Clock()
    recording = session(tmp_path, clock, flush_period=2.0)
    for i in range(3):
        recording.write(TOPIC, COMPRESSED, i + 1, frame(i))
    assert recording.durable_messages == 0
    clock.now += 1.9
    recording.housekeep()
    assert recording.durable_messages == 0
    clock.now += 0.1
    recording.housekeep()
    assert recording.durable_messages == 3
    # the bag is still open (no metadata.yaml) and already readable up to the flush
    assert not (recording.parts[0] / "metadata.yaml").exists()
    assert len(stored(recording.parts)) == 3
    recording.close()


def test_low_disk_stops_the_session_cleanly(tmp_path: Path):
    clock, free = Clock(), {"mb": 5000.0}
    recording = session(tmp_path, clock, free=lambda _: free["mb"], min_free_disk_mb=1000)
    recording.write(TOPIC, COMPRESSED, 1, frame(1))
    free["mb"] = 999.0
    clock.now += DISK_CHECK_PERIOD
    with pytest.raises(LowDiskError, match=r"free disk 999 MB is under min_free_disk_mb 1000"):
        recording.write(TOPIC, COMPRESSED, 2, frame(2))
    assert recording.closed
    assert (recording.parts[0] / "metadata.yaml").is_file()
    assert [m.timestamp for m in stored(recording.parts)] == [1, 2]
    with pytest.raises(OdetError, match="closed"):
        recording.write(TOPIC, COMPRESSED, 3, frame(3))


def test_low_disk_at_start_is_refused(tmp_path: Path):
    with pytest.raises(LowDiskError, match="out"):
        session(tmp_path, free=lambda _: 10.0, min_free_disk_mb=100)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("prefix", ""), ("prefix", "a/b"), ("flush_period", 0.0), ("split_size_mb", -1.0)],
)
def test_invalid_settings_name_the_parameter(tmp_path: Path, setting, value):
    with pytest.raises(OdetError, match=setting):
        SessionSettings(tmp_path, **{setting: value})


WRITER = """
import sys, time
from pathlib import Path
from test_capture_session import COMPRESSED, TOPIC, frame
from odet_ros.capture import CaptureSession, SessionSettings

session = CaptureSession(SessionSettings(Path(sys.argv[1]), flush_period=0.2, min_free_disk_mb=0))
index = 0
while True:
    index += 1
    session.write(TOPIC, COMPRESSED, index, frame(index))
    print(index, session.durable_messages, flush=True)
    time.sleep(0.005)
"""


def test_sigkill_keeps_every_frame_flushed_before_it(tmp_path: Path):
    """A power cut: nothing is closed, yet everything older than the last flush reads back."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    durable = written = 0
    deadline = time.monotonic() + 120  # a hang guard, not a timing assertion
    try:
        while durable < 40 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            written, durable = (int(v) for v in line.split())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert durable >= 40, child.stderr.read()
    (part,) = tmp_path.glob("capture_*/capture_*_0")
    assert re.fullmatch(r"capture_\d{8}_\d{6}_0", part.name)
    assert not (part / "metadata.yaml").exists()
    timestamps = [m.timestamp for m in read_messages([part])]
    assert len(timestamps) >= durable
    assert timestamps == list(range(1, len(timestamps) + 1))  # no gap, nothing corrupt
    assert written >= len(timestamps) - 1


@pytest.fixture
def disk(tmp_path: Path):
    with small_disk(tmp_path / "disk", size_mb=16) as mounted:
        yield mounted


def test_a_disk_that_fills_between_checks_leaves_a_closed_bag(disk: Path):
    """min_free_disk_mb cannot see another process filling the disk within a second: the write
    fails with ENOSPC, and the session still closes the bag (index, metadata.yaml) with every
    message flushed before the failure."""
    clock = Clock()
    recording = CaptureSession(
        SessionSettings(disk, flush_period=0.5, min_free_disk_mb=0.0),
        clock=clock,
        now=lambda: STARTED,
    )
    index = 0
    for index in range(20):
        recording.write(TOPIC, COMPRESSED, index + 1, frame(index, size=(96, 128)))
        clock.now += 0.1
    flushed_before = recording.durable_messages
    fill(disk, leave_bytes=64 * 1024)
    with pytest.raises(OdetError, match=r"No space left on device; the bag is closed") as failed:
        for index in range(20, 400):
            recording.write(TOPIC, COMPRESSED, index + 1, frame(index, size=(96, 128)))
            clock.now += 0.1
    assert recording.closed
    (part,) = recording.parts
    kept = [m.timestamp for m in stored([part])]
    assert (part / "metadata.yaml").is_file()
    assert flushed_before >= 15 and len(kept) >= flushed_before
    assert kept == list(range(1, len(kept) + 1))  # in order, none torn
    assert f"its {len(kept)} messages flushed before" in str(failed.value)
    assert not (recording.directory / ".odet-reserve").exists()
    with next(part.glob("*.mcap")).open("rb") as stream:  # an index that mcap itself trusts
        summary = make_reader(stream).get_summary()
    assert summary is not None and summary.statistics.message_count == len(kept)


def test_a_disk_without_room_for_the_reserve_refuses_to_start(disk: Path):
    fill(disk, leave_bytes=1024 * 1024)
    with pytest.raises(LowDiskError, match=r"no room for a 4 MB reserve"):
        CaptureSession(SessionSettings(disk, min_free_disk_mb=0.0))
