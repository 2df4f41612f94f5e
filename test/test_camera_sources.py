"""Camera frame sources: real video files and image folders, a fake device for drops."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from odet_ros.camera import (
    Backoff,
    ReconnectingSource,
    SourceDroppedError,
    SourceEndedError,
    SourceKind,
    SourceOptions,
    SourceSpec,
    open_source,
    parse_source,
)
from odet_ros.errors import OdetError

LEVELS = [30, 90, 150, 210]  # each frame is a flat grey level, so order survives compression


def flat(level: int, size=(48, 64)) -> np.ndarray:
    return np.full((*size, 3), level, np.uint8)


def level_of(frame: np.ndarray) -> int:
    """The nearest of LEVELS to the frame's mean."""
    return min(LEVELS, key=lambda level: abs(level - float(frame.mean())))


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    assert writer.isOpened()
    for level in LEVELS:
        writer.write(flat(level))
    writer.release()
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    for index, level in enumerate(LEVELS):
        cv2.imwrite(str(images / f"frame_{index:02d}.png"), flat(level))
    (images / "notes.txt").write_text("not an image")
    return images


def test_parse_source_classifies_each_kind(video: Path, folder: Path):
    assert parse_source("0") == SourceSpec(SourceKind.DEVICE, 0)
    assert parse_source(" 2 ") == SourceSpec(SourceKind.DEVICE, 2)
    assert parse_source("rtsp://10.0.0.5:554/live") == SourceSpec(
        SourceKind.STREAM, "rtsp://10.0.0.5:554/live"
    )
    assert parse_source("http://cam/mjpg").kind is SourceKind.STREAM
    assert parse_source(str(video)) == SourceSpec(SourceKind.VIDEO_FILE, str(video))
    assert parse_source(f"file://{video}") == SourceSpec(SourceKind.VIDEO_FILE, str(video))
    assert parse_source(str(folder)) == SourceSpec(SourceKind.IMAGE_FOLDER, str(folder))


@pytest.mark.parametrize("source", ["", "/nonexistent/clip.mp4", "/dev/video_missing_99"])
def test_missing_sources_are_clear_errors(source: str):
    with pytest.raises(OdetError, match=r"source|device"):
        parse_source(source)


def test_video_file_plays_in_order_then_ends(video: Path):
    source = open_source(parse_source(str(video)))
    frames = [level_of(source.read()) for _ in LEVELS]
    assert frames == LEVELS
    with pytest.raises(SourceEndedError, match=r"clip\.avi"):
        source.read()
    source.close()


def test_video_file_loops(video: Path):
    source = open_source(parse_source(str(video)), SourceOptions(loop=True))
    frames = [level_of(source.read()) for _ in range(2 * len(LEVELS) + 1)]
    assert frames == LEVELS * 2 + LEVELS[:1]


def test_frames_are_resized_to_the_requested_size(video: Path, folder: Path):
    for spec in (parse_source(str(video)), parse_source(str(folder))):
        assert open_source(spec, SourceOptions(width=32, height=20)).read().shape == (20, 32, 3)
        assert open_source(spec, SourceOptions(width=32)).read().shape == (24, 32, 3)


def test_unreadable_video_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00not a video" * 10)
    with pytest.raises(OdetError, match=r"cannot open camera source video file .*broken\.mp4"):
        open_source(parse_source(str(path)))


def test_image_folder_in_name_order_skipping_unreadable_files(folder: Path):
    (folder / "frame_01b.jpg").write_bytes(b"corrupt")
    source = open_source(parse_source(str(folder)), SourceOptions(loop=True))
    frames = [source.read() for _ in range(len(LEVELS) + 1)]
    assert [level_of(f) for f in frames] == [*LEVELS, LEVELS[0]]
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for f in frames)


def test_image_folder_without_loop_ends(folder: Path):
    source = open_source(parse_source(str(folder)))
    for _ in LEVELS:
        source.read()
    with pytest.raises(SourceEndedError):
        source.read()


def test_empty_image_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(OdetError, match="holds no images"):
        open_source(parse_source(str(tmp_path)))


class FakeCapture:
    """A cv2.VideoCapture stand-in for a camera device: the true external boundary."""

    def __init__(self, device: FakeDevice) -> None:
        self.device = device
        self.released = False
        self.requested: dict[int, float] = {}

    def isOpened(self) -> bool:
        return self.device.plugged

    def read(self):
        if not self.device.plugged or self.released:
            return False, None
        self.device.frames += 1
        return True, flat(LEVELS[self.device.frames % len(LEVELS)])

    def set(self, prop: int, value: float) -> bool:
        self.requested[prop] = value
        return True

    def release(self) -> None:
        self.released = True


class FakeDevice:
    def __init__(self) -> None:
        self.plugged = True
        self.frames = 0
        self.opened: list[FakeCapture] = []

    def open(self, target) -> FakeCapture:
        capture = FakeCapture(self)
        self.opened.append(capture)
        return capture


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_device_is_asked_for_the_configured_format():
    device = FakeDevice()
    options = SourceOptions(width=1280, height=720, fps=15)
    open_source(SourceSpec(SourceKind.DEVICE, 0), options, device.open).read()
    assert device.opened[0].requested == {
        cv2.CAP_PROP_FRAME_WIDTH: 1280,
        cv2.CAP_PROP_FRAME_HEIGHT: 720,
        cv2.CAP_PROP_FPS: 15,
    }


def test_unplugged_device_at_start_is_a_clear_error():
    device = FakeDevice()
    device.plugged = False
    with pytest.raises(OdetError, match="cannot open camera source device 3"):
        open_source(SourceSpec(SourceKind.DEVICE, 3), capture_factory=device.open)
    assert device.opened[0].released


def test_dropped_device_reconnects_with_exponential_backoff():
    device, clock = FakeDevice(), Clock()
    spec = SourceSpec(SourceKind.DEVICE, 0)

    def reopen():
        return open_source(spec, capture_factory=device.open)

    messages: list[str] = []

    class Logger:
        def warning(self, message):
            messages.append(message)

        def info(self, message):
            messages.append(message)

    source = ReconnectingSource(reopen(), reopen, Backoff(1.0, 4.0, 2.0), clock, Logger())
    assert source.read() is not None

    device.plugged = False
    assert source.read() is None  # the drop: closed, retry in 1 s
    assert not source.connected and device.opened[0].released
    attempts = []
    for step in range(16):  # 8 s in half-second ticks, still unplugged
        clock.now += 0.5
        before = len(device.opened)
        assert source.read() is None
        if len(device.opened) > before:
            attempts.append(step)
    # retries after 1, then 2, then 4, then 4 s (the maximum)
    assert [(a + 1) * 0.5 for a in attempts] == [1.0, 3.0, 7.0]
    assert "reconnecting in 4.0 s" in messages[-1]

    device.plugged = True
    clock.now += 4.0
    frame = source.read()
    assert frame is not None and source.connected
    assert "reconnected to device 0" in messages[-1]
    clock.now += 0.1
    assert source.read() is not None  # steady again, no back-off left


def test_end_of_a_finite_source_passes_through_reconnection(video: Path):
    spec = parse_source(str(video))
    source = ReconnectingSource(open_source(spec), lambda: open_source(spec))
    for _ in LEVELS:
        assert source.read() is not None
    with pytest.raises(SourceEndedError):
        source.read()


def test_drop_error_names_the_source():
    device = FakeDevice()
    source = open_source(SourceSpec(SourceKind.DEVICE, "/dev/video7"), capture_factory=device.open)
    device.plugged = False
    with pytest.raises(SourceDroppedError, match="/dev/video7"):
        source.read()
