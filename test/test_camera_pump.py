"""FramePump: camera_node's reading thread, on a real image folder (no ROS needed)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from odet_ros.camera import (
    FramePump,
    ReconnectingSource,
    SourceEndedError,
    SourceOptions,
    open_source,
    parse_source,
)

HANG_GUARD = 10.0  # seconds: fails a test that would otherwise hang, never a speed check
LEVELS = [30, 90, 150]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for index, level in enumerate(LEVELS):
        cv2.imwrite(str(tmp_path / f"{index}.png"), np.full((8, 8, 3), level, np.uint8))
    return tmp_path


def source(folder: Path, loop: bool = False) -> ReconnectingSource:
    spec = parse_source(str(folder))
    return ReconnectingSource(open_source(spec, SourceOptions(loop=loop)), lambda: None)


def test_every_frame_in_order_then_one_end(folder):
    frames: list[int] = []
    ends: list[SourceEndedError] = []
    ended = threading.Event()

    def on_end(error: SourceEndedError) -> None:
        ends.append(error)
        ended.set()

    pump = FramePump(source(folder), 200.0, lambda f: frames.append(int(f.mean())), on_end,
                     logger=logging.getLogger("test"))  # fmt: skip
    pump.start()
    assert ended.wait(HANG_GUARD)
    pump.stop()
    assert frames == LEVELS
    assert len(ends) == 1 and str(folder) in str(ends[0])
    assert not pump.running


class Log:
    """Keeps the warnings it is given (the Logger protocol the pump takes)."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def info(self, message: str) -> None:
        pass


def test_a_failing_callback_is_logged_and_the_pump_goes_on(folder):
    seen: list[int] = []
    ended = threading.Event()
    log = Log()

    def on_frame(frame: np.ndarray) -> None:
        seen.append(int(frame.mean()))
        if len(seen) == 1:
            raise RuntimeError("publisher gone")

    pump = FramePump(source(folder), 200.0, on_frame, lambda e: ended.set(), logger=log)
    pump.start()
    assert ended.wait(HANG_GUARD)
    assert seen == LEVELS
    assert len(log.warnings) == 1 and "publisher gone" in log.warnings[0]


def test_stop_ends_an_endless_source(folder):
    seen = threading.Semaphore(0)
    pump = FramePump(source(folder, loop=True), 100.0, lambda f: seen.release(),
                     lambda e: None, logger=logging.getLogger("test"))  # fmt: skip
    pump.start()
    for _ in range(5):  # still reading past the end: the folder loops
        assert seen.acquire(timeout=HANG_GUARD)
    pump.stop()
    assert not pump.running


def test_rate_must_be_positive(folder):
    with pytest.raises(ValueError, match="fps"):
        FramePump(
            source(folder), 0.0, lambda f: None, lambda e: None, logger=logging.getLogger("t")
        )
