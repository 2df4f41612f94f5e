"""The detector's inference thread without ROS: the newest frame in, its outputs out.

A camera faster than the model must not build a queue: frames wait in a :class:`LatestSlot`,
the thread always takes the newest, and every frame replaced before it was taken counts as a
drop. A frame that cannot be decoded, or a model that fails on one, is counted and logged
(throttled, naming the topic) and the thread carries on with the next frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from odet_ros.imaging import ImageConversionError
from odet_ros.interfaces import stamp_to_ns
from odet_ros.interfaces.protocols import CompressedImageMessage, ImageMessage
from odet_ros.logs import Logger, Throttle
from odet_ros.runtime.frame_detector import FrameDetector, FrameResult
from odet_ros.runtime.latest import LatestSlot
from odet_ros.runtime.stats import StreamStats, StreamSummary

Frame = ImageMessage | CompressedImageMessage
TAKE_TIMEOUT_S = 0.5  # how often an idle thread looks whether it should stop


class FrameSink(Protocol):
    """Where a processed frame goes (the node's publishers)."""

    def wants_annotated(self) -> bool: ...

    def publish(self, result: FrameResult, frame: Frame, frames: FrameDetector) -> None: ...


class InferenceWorker:
    """Runs one camera's frames through the current :class:`FrameDetector` on a thread of its
    own. The FrameDetector can be replaced or changed between frames (:meth:`update`), from any
    thread: a frame in progress finishes with the model it started with."""

    def __init__(self, topic: str, sink: FrameSink, log: Logger, now_ns: Callable[[], int]) -> None:
        self.topic = topic
        self.stats = StreamStats()
        self.received = 0
        self._sink = sink
        self._log = log
        self._now_ns = now_ns
        self._lock = threading.Lock()  # held while a frame is processed or the model changed
        self._frames: FrameDetector | None = None
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._thread: threading.Thread | None = None
        self._throttle = Throttle()
        self._described: FrameDetector | None = None  # the model whose input size was logged

    @property
    def frames(self) -> FrameDetector | None:
        return self._frames

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def update(self, change: Callable[[FrameDetector | None], FrameDetector | None]) -> None:
        """Replace or change the FrameDetector between two frames: ``change`` gets the current
        one and returns the one to use (None: no model, frames are not processed)."""
        with self._lock:
            self._frames = change(self._frames)

    def put(self, frame: Frame) -> None:
        """A camera frame (from the subscription callback): replaces a frame still waiting."""
        self.received += 1
        self._slot.put(frame)

    def start(self) -> None:
        """Start the thread (again after :meth:`stop`)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._slot = LatestSlot()
        self._thread = threading.Thread(target=self._run, name=f"odet {self.topic}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop taking frames and wait for the frame in progress: its outputs are published
        before this returns, so the caller may destroy the publishers afterwards."""
        self._slot.close()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def summary(self, now: float) -> StreamSummary:
        return self.stats.summary(now, dropped=self._slot.dropped)

    def _run(self) -> None:
        slot = self._slot
        while not slot.closed:
            frame = slot.take(timeout=TAKE_TIMEOUT_S)
            if frame is not None:
                self.process(frame)

    def process(self, frame: Frame) -> FrameResult | None:
        """Detect on one frame and hand the result to the sink; None when the frame failed or
        no model is loaded. The thread calls it; tests may call it directly."""
        try:
            with self._lock:
                frames = self._frames
                if frames is None:
                    return None
                result = frames.process(frame, annotate=self._sink.wants_annotated())
        except ImageConversionError as error:
            self._failed(self._log.warning, "frame skipped", str(error))
            return None
        except Exception as error:  # a model failure must not end the thread
            self._failed(self._log.error, "inference failed", f"{type(error).__name__}: {error}")
            return None
        self._sink.publish(result, frame, frames)
        if frames is not self._described:
            self._described = frames
            height, width = frames.detector.network_input(result.source_hw)
            source_h, source_w = result.source_hw
            self._log.info(
                f"{self.topic}: frames of {source_w}x{source_h} run at {width}x{height}"
                f" ({frames.detector.backend_name})"
            )
        latency_s = max(0.0, (self._now_ns() - stamp_to_ns(frame.header.stamp)) / 1e9)
        self.stats.record(time.monotonic(), latency_s)
        return result

    def _failed(self, log: Callable[[str], object], what: str, why: str) -> None:
        self.stats.record_failure()
        throttled = self._throttle(what, f"{self.topic}: {what}: {why}")
        if throttled is not None:
            log(throttled)
