"""The detector's inference thread without ROS: one model for several cameras, newest frame per
camera, each camera's results with its own header, bad frames and model failures counted and
logged for their camera (throttled) while the others go on, a model swapped between rounds, and
a stop that returns only once the round in progress is out."""

from __future__ import annotations

import functools
import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from odet_ros.bags import make_typestore
from odet_ros.detection.detector import load_detector
from odet_ros.imaging import numpy_to_image
from odet_ros.imaging.cdr import image_from_cdr
from odet_ros.interfaces import make_header
from odet_ros.logs import Throttle
from odet_ros.messages import VisionMsgClasses
from odet_ros.runtime.frame_detector import FrameDetector
from odet_ros.runtime.inference import InferenceWorker

pytest.importorskip("onnxruntime")

MODEL = Path(__file__).parent / "data" / "brightness_model.onnx"
TYPESTORE = make_typestore()
IMAGE = TYPESTORE.types["sensor_msgs/msg/Image"]
LOG = logging.getLogger("test_runtime_inference")
FRONT, REAR = "/front/image_raw", "/rear/image_raw"


class Sink:
    """What the node's publishers would receive, per camera."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.published: list[int] = []  # the stamps (s) of FRONT, in order
        self.by_camera: dict[str, list] = {}
        self.delay_s = delay_s
        self.busy = threading.Event()  # set while a frame is being published

    def wants_annotated(self, camera: str) -> bool:
        return False

    def wants_masks(self, camera: str) -> bool:
        return False

    def publish(self, camera, result, frame, frames) -> None:
        self.busy.set()
        time.sleep(self.delay_s)
        self.by_camera.setdefault(camera, []).append(result)
        if camera == FRONT:
            self.published.append(frame.header.stamp.sec)
        self.busy.clear()


def _frame(sec: int, value: int = 230, broken: bool = False, frame_id: str = "c"):
    header = make_header(TYPESTORE, sec * 10**9, frame_id)
    frame = numpy_to_image(np.full((120, 160, 3), value, np.uint8), "bgr8", header, IMAGE)
    if broken:
        frame.data = frame.data[:100]
    return frame


def _worker(sink: Sink, cameras=(FRONT,), window_s: float = 0.0, runs: int = 1) -> InferenceWorker:
    worker = InferenceWorker(list(cameras), sink, LOG, time.time_ns, batch_window_s=window_s)
    detector = load_detector(MODEL, concurrent_runs=runs)
    vision = VisionMsgClasses.from_typestore(TYPESTORE)
    frames = {camera: FrameDetector(detector, vision, IMAGE) for camera in cameras}
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
    worker.put(FRONT, _frame(1))
    assert sink.busy.wait(10)
    for sec in range(2, 8):  # arrive while frame 1 is in progress
        worker.put(FRONT, _frame(sec))
    assert _wait(lambda: len(sink.published) == 2)
    worker.stop()
    assert sink.published == [1, 7]  # the newest waiting frame, never 2..6
    assert worker.dropped(FRONT) == 5 and worker.received[FRONT] == 7


def test_bad_frames_and_failures_are_counted_logged_by_topic_and_the_thread_carries_on(caplog):
    sink = Sink()
    worker = _worker(sink)
    assert worker.process([(FRONT, _frame(1, broken=True))]) == {}
    assert FRONT in worker.process([(FRONT, _frame(2))])
    assert worker.stats[FRONT].failed == 1 and sink.published == [2]
    assert "/front/image_raw: frame skipped" in caplog.text

    def broken(frames):
        lost = RuntimeError("GPU lost")
        frames[FRONT].detector.detect_batch = lambda *a, **k: (_ for _ in ()).throw(lost)
        return frames

    worker.update(broken)
    with caplog.at_level(logging.ERROR):
        assert worker.process([(FRONT, _frame(3))]) == {}
    assert "/front/image_raw: inference failed: RuntimeError: GPU lost" in caplog.text


def test_without_a_model_frames_are_not_processed():
    sink = Sink()
    worker = _worker(sink)
    worker.update(lambda _: None)
    assert worker.process([(FRONT, _frame(1))]) == {} and sink.published == []


def test_stop_waits_for_the_frame_in_progress_and_start_runs_again():
    sink = Sink(delay_s=0.3)
    worker = _worker(sink)
    worker.start()
    worker.put(FRONT, _frame(1))
    assert sink.busy.wait(10)  # taken, in progress
    worker.stop()
    assert sink.published == [1]  # out before stop returned
    worker.start()
    worker.put(FRONT, _frame(2))
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


def test_two_cameras_share_one_model_and_never_cross_their_headers():
    sink = Sink()
    worker = _worker(sink, (FRONT, REAR))
    results = worker.process(
        [(REAR, _frame(5, 40, frame_id="rear")), (FRONT, _frame(6, frame_id="front"))]
    )
    assert set(results) == {FRONT, REAR}
    assert results[FRONT].message.header.frame_id == "front"
    assert results[REAR].message.header.frame_id == "rear"
    assert len(results[FRONT].detections) == 1 and len(results[REAR].detections) == 0  # dark rear
    frames = worker.frames
    assert frames[FRONT].detector is frames[REAR].detector  # one model in memory


@pytest.mark.parametrize("runs", [1, 2])
def test_a_model_that_runs_frames_at_once_gets_a_thread_per_run_and_each_camera_stays_in_order(
    runs,
):
    """Two cameras on a model opened for two concurrent runs: both cameras' frames are in flight
    at once, on two threads; on a model that runs one frame at a time, never."""
    sink = ConcurrencySink(delay_s=0.03)
    worker = _worker(sink, (FRONT, REAR), runs=runs)
    assert worker.runners == runs
    worker.start()
    for sec in range(12):
        worker.put(FRONT, _frame(sec, frame_id="front"))
        worker.put(REAR, _frame(sec, 40, frame_id="rear"))
        time.sleep(0.01)
    assert _wait(lambda: sink.stamps.get(REAR, [])[-1:] == [11] and sink.stamps[FRONT][-1:] == [11])
    worker.stop()
    assert sink.most_at_once == runs
    assert len(sink.threads) == runs
    for camera, frame_id in ((FRONT, "front"), (REAR, "rear")):
        assert sink.stamps[camera] == sorted(set(sink.stamps[camera]))  # in order, once each
        assert sink.frame_ids[camera] == {frame_id}


class ConcurrencySink(Sink):
    """Counts the frames in the sink at once, the threads they come from, each camera's stamps."""

    def __init__(self, delay_s: float) -> None:
        super().__init__(delay_s)
        self.lock = threading.Lock()
        self.at_once = self.most_at_once = 0
        self.threads: set[str] = set()
        self.stamps: dict[str, list[int]] = {}
        self.frame_ids: dict[str, set[str]] = {}

    def publish(self, camera, result, frame, frames) -> None:
        with self.lock:
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
            self.threads.add(threading.current_thread().name)
        time.sleep(self.delay_s)
        with self.lock:
            self.at_once -= 1
            self.stamps.setdefault(camera, []).append(frame.header.stamp.sec)
            self.frame_ids.setdefault(camera, set()).add(result.message.header.frame_id)


class SlowRoundSink(Sink):
    """A round that takes 0.2 s after its model run (deciding whether to annotate)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_round = 0
        self.lock = threading.Lock()

    def wants_annotated(self, camera: str) -> bool:
        with self.lock:
            self.in_round += 1
        time.sleep(0.2)
        with self.lock:
            self.in_round -= 1
        return False


def test_a_model_change_waits_for_the_rounds_in_progress():
    sink = SlowRoundSink()
    worker = _worker(sink, (FRONT, REAR), runs=2)
    worker.start()
    worker.put(FRONT, _frame(1))
    worker.put(REAR, _frame(1))
    assert _wait(lambda: sink.in_round == 2)  # both cameras' rounds at once
    seen = []
    worker.update(lambda frames: seen.append(sink.in_round))  # no model afterwards
    assert seen == [0]
    worker.put(FRONT, _frame(2))
    time.sleep(0.3)
    worker.stop()
    assert sorted(sink.by_camera) == [FRONT, REAR] and len(sink.by_camera[FRONT]) == 1


def test_a_bad_frame_on_one_camera_does_not_disturb_the_other():
    sink = Sink()
    worker = _worker(sink, (FRONT, REAR))
    results = worker.process([(FRONT, _frame(1, broken=True)), (REAR, _frame(1, frame_id="rear"))])
    assert set(results) == {REAR}
    assert worker.stats[FRONT].failed == 1 and worker.stats[REAR].processed == 1


def test_a_silent_camera_leaves_the_others_at_their_rate():
    """The thread never waits for a camera that sends nothing, whatever the batch window."""
    sink = Sink()
    worker = _worker(sink, (FRONT, REAR), window_s=0.05)
    worker.start()
    for sec in range(10):
        worker.put(FRONT, _frame(sec))
        assert _wait(lambda sec=sec: sink.published[-1:] == [sec])
    worker.stop()
    assert worker.stats[FRONT].processed == 10 and REAR not in sink.by_camera
    assert worker.dropped(FRONT) == 0


def test_frames_of_two_cameras_in_one_window_run_as_one_round(monkeypatch):
    # a camera counts as active for a minute here, however slow the first round on a busy machine
    monkeypatch.setattr("odet_ros.runtime.latest.ACTIVE_S", 60.0)
    calls = []
    sink = Sink()
    worker = _worker(sink, (FRONT, REAR), window_s=1.0)

    def counting(frames):
        detector = frames[FRONT].detector
        original = detector.detect_batch
        detector.detect_batch = lambda images, colors: (
            calls.append(len(images)) or original(images, colors)
        )
        return frames

    worker.update(counting)
    worker.start()
    worker.put(FRONT, _frame(1))
    worker.put(REAR, _frame(1))  # both heard: both active (in one round or two)
    assert _wait(lambda: len(sink.by_camera.get(REAR, [])) == 1)
    calls.clear()
    worker.put(FRONT, _frame(2))
    threading.Timer(0.1, lambda: worker.put(REAR, _frame(2))).start()  # within the window
    assert _wait(lambda: len(sink.by_camera[REAR]) == 2)
    worker.stop()
    assert calls == [2]


def test_serialized_frames_are_decoded_per_camera_and_a_malformed_one_is_skipped():
    """Cameras whose subscription hands over CDR bytes (the node's): each camera's decoder
    reads them on the inference thread; bytes that are no Image are that camera's failure."""
    sink = Sink()
    header_type = functools.partial(make_header, TYPESTORE)

    def header(sec: int, nanosec: int, frame_id: str) -> object:
        return header_type(sec * 10**9 + nanosec, frame_id)

    decode = functools.partial(image_from_cdr, make_header=header)
    worker = InferenceWorker([FRONT, REAR], sink, LOG, time.time_ns, decoders={FRONT: decode})
    detector = load_detector(MODEL)
    vision = VisionMsgClasses.from_typestore(TYPESTORE)
    worker.update(lambda _: {c: FrameDetector(detector, vision, IMAGE) for c in (FRONT, REAR)})
    wire = bytes(TYPESTORE.serialize_cdr(_frame(7, frame_id="front"), IMAGE.__msgtype__))

    results = worker.process([(FRONT, wire), (REAR, _frame(7, frame_id="rear"))])
    assert set(results) == {FRONT, REAR}
    assert results[FRONT].message.header.frame_id == "front"
    assert len(results[FRONT].detections) == len(results[REAR].detections) == 1

    results = worker.process([(FRONT, wire[:-1]), (REAR, _frame(8, frame_id="rear"))])
    assert set(results) == {REAR}
    assert worker.stats[FRONT].failed == 1 and worker.stats[FRONT].processed == 1
