"""The detector's inference thread without ROS: newest frame first, bad frames and model failures
counted and logged by topic (throttled) while the thread carries on, a model swapped between
frames, and a stop that returns only once the frame in progress is out."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from odet_ros.bags import make_typestore
from odet_ros.detection.detector import load_detector
from odet_ros.imaging import numpy_to_image
from odet_ros.interfaces import make_header
from odet_ros.logs import Throttle
from odet_ros.messages import VisionMsgClasses
from odet_ros.runtime import FrameDetector
from odet_ros.runtime.inference import InferenceWorker

pytest.importorskip("onnxruntime")

MODEL = Path(__file__).parent / "data" / "brightness_model.onnx"
TYPESTORE = make_typestore()
IMAGE = TYPESTORE.types["sensor_msgs/msg/Image"]
LOG = logging.getLogger("test_runtime_inference")


class Sink:
    """What the node's publishers would receive."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.published: list[int] = []
        self.delay_s = delay_s
        self.busy = threading.Event()  # set while a frame is being published

    def wants_annotated(self) -> bool:
        return False

    def publish(self, result, frame, frames) -> None:
        self.busy.set()
        time.sleep(self.delay_s)
        self.published.append(frame.header.stamp.sec)
        self.busy.clear()


def _frame(sec: int, value: int = 230, broken: bool = False):
    frame = numpy_to_image(
        np.full((120, 160, 3), value, np.uint8),
        "bgr8",
        make_header(TYPESTORE, sec * 10**9, "c"),
        IMAGE,
    )
    if broken:
        frame.data = frame.data[:100]
    return frame


def _worker(sink: Sink) -> InferenceWorker:
    worker = InferenceWorker("/cam/image_raw", sink, LOG, now_ns=time.time_ns)
    frames = FrameDetector(load_detector(MODEL), VisionMsgClasses.from_typestore(TYPESTORE), IMAGE)
    worker.update(lambda _: frames)
    return worker


def _wait(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.01)
    return condition()


def test_frames_go_out_newest_first_and_a_backlog_is_dropped_not_queued():
    sink = Sink(delay_s=0.2)  # a slow model
    worker = _worker(sink)
    worker.start()
    worker.put(_frame(1))
    assert sink.busy.wait(10)
    for sec in range(2, 8):  # arrive while frame 1 is in progress
        worker.put(_frame(sec))
    assert _wait(lambda: len(sink.published) == 2)
    worker.stop()
    assert sink.published == [1, 7]  # the newest waiting frame, never 2..6
    assert worker.dropped == 5 and worker.received == 7


def test_bad_frames_and_failures_are_counted_logged_by_topic_and_the_thread_carries_on(caplog):
    sink = Sink()
    worker = _worker(sink)
    assert worker.process(_frame(1, broken=True)) is None
    assert worker.process(_frame(2)) is not None
    assert worker.stats.failed == 1 and sink.published == [2]
    assert "/cam/image_raw: frame skipped" in caplog.text

    def broken(frames):
        frames.detector.detect = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("GPU lost"))
        return frames

    worker.update(broken)
    with caplog.at_level(logging.ERROR):
        assert worker.process(_frame(3)) is None
    assert "/cam/image_raw: inference failed: RuntimeError: GPU lost" in caplog.text


def test_without_a_model_frames_are_not_processed():
    sink = Sink()
    worker = _worker(sink)
    worker.update(lambda _: None)
    assert worker.process(_frame(1)) is None and sink.published == []


def test_stop_waits_for_the_frame_in_progress_and_start_runs_again():
    sink = Sink(delay_s=0.3)
    worker = _worker(sink)
    worker.start()
    worker.put(_frame(1))
    assert sink.busy.wait(10)  # taken, in progress
    worker.stop()
    assert sink.published == [1]  # out before stop returned
    worker.start()
    worker.put(_frame(2))
    assert _wait(lambda: sink.published == [1, 2])
    worker.stop()


def test_throttle_lets_one_message_per_period_through_and_counts_the_rest():
    now = [0.0]
    throttle = Throttle(period_s=5.0, clock=lambda: now[0])
    assert throttle("skipped", "a") == "a"
    assert throttle("skipped", "b") is None
    assert throttle("failed", "c") == "c"  # its own key
    now[0] = 5.0
    assert throttle("skipped", "d") == "d (1 more since the last such message)"
