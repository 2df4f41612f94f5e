"""The detector's inference threads without ROS: the newest frame of each camera in, outputs out.

One model serves every camera of the node. Frames wait in :class:`LatestFrames` (one newest-frame
mailbox per camera: a model slower than the cameras drops frames, counted per camera, instead of
building a queue); each round takes the waiting cameras' frames, oldest-waiting first, and runs
them through the model together (:meth:`Detector.detect_batch`). A model that runs frames
concurrently (ONNX Runtime on the CPU, :attr:`Detector.concurrent_runs`) gets one thread per
run, each taking the oldest-waiting camera's frame in turn: on a CPU, concurrent runs of a small
model fill the cores where one run does not, and no frame waits for another's. A camera is in
one round at a time, so its frames come out in order. A frame that cannot be decoded, or a model
that fails, is counted and logged for its camera (throttled) and the others go on. Frames may
arrive serialized: a camera's ``decoder`` makes them messages on the inference thread, only for
the frames that are run (a dropped frame costs nothing), and a malformed one is a frame skipped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, Protocol

import numpy as np

from odet_ros.detection.types import Detections
from odet_ros.imaging import ImageConversionError
from odet_ros.interfaces import stamp_to_ns
from odet_ros.interfaces.protocols import CompressedImageMessage, ImageMessage
from odet_ros.logs import Logger, Throttle
from odet_ros.runtime.frame_detector import FrameDetector, FrameResult, frame_pixels, use_masks
from odet_ros.runtime.latest import LatestFrames
from odet_ros.runtime.stats import StreamStats, StreamSummary

Frame = ImageMessage | CompressedImageMessage
Decoder = Callable[[Any], Frame]  # what a camera's subscription hands over -> a message
Frames = Mapping[str, FrameDetector]  # one per camera, sharing one Detector
TAKE_TIMEOUT_S = 0.5  # how often an idle thread looks whether it should stop


class _Prepared(NamedTuple):
    """A decoded frame, ready for the model."""

    camera: str
    frame: Frame
    image: np.ndarray
    color: str


class FrameSink(Protocol):
    """Where a camera's processed frame goes (the node's publishers)."""

    def wants_annotated(self, camera: str) -> bool: ...

    def wants_masks(self, camera: str) -> bool: ...

    def publish(
        self, camera: str, result: FrameResult, frame: Frame, frames: FrameDetector
    ) -> None: ...


class InferenceWorker:
    """Runs the cameras' frames through their :class:`FrameDetector` on threads of its own. The
    FrameDetectors can be replaced or changed between rounds (:meth:`update`) from any thread: it
    waits for the rounds in progress, which finish with the model they started with."""

    def __init__(
        self,
        cameras: Sequence[str],
        sink: FrameSink,
        log: Logger,
        now_ns: Callable[[], int],
        batch_window_s: float = 0.0,
        *,
        decoders: Mapping[str, Decoder] | None = None,
    ) -> None:
        self.cameras = list(cameras)
        self.stats = {camera: StreamStats() for camera in self.cameras}
        self.received = dict.fromkeys(self.cameras, 0)
        self.batch_window_s = batch_window_s
        self._sink = sink
        self._log = log
        self._now_ns = now_ns
        self._decoders = dict(decoders or {})
        self._gate = threading.Condition()  # guards the model and the count of rounds running
        self._rounds = 0
        self._updates = 0  # changes waiting for the rounds in progress; no round starts meanwhile
        self._frames: dict[str, FrameDetector] | None = None
        self._mailbox: LatestFrames[str, Any] = LatestFrames(self.cameras)
        self._threads: list[threading.Thread] = []
        self._started = False
        self._throttle = Throttle()
        self._described: set[tuple[int, str]] = set()  # (model, camera) whose input was logged

    @property
    def frames(self) -> dict[str, FrameDetector] | None:
        return self._frames

    def dropped(self, camera: str) -> int:
        return self._mailbox.dropped[camera]

    def update(
        self, change: Callable[[dict[str, FrameDetector] | None], dict[str, FrameDetector] | None]
    ) -> None:
        """Replace or change the FrameDetectors between two rounds: ``change`` gets the current
        ones and returns those to use (None: no model, frames are not processed)."""
        with self._gate:
            self._updates += 1
            self._gate.wait_for(lambda: self._rounds == 0)
            try:
                self._frames = change(self._frames)
            finally:
                self._updates -= 1
                self._gate.notify_all()
        self._add_threads()

    @property
    def runners(self) -> int:
        """Rounds that run at once: what the model allows, up to one per camera."""
        frames = self._frames
        allowed = 1 if not frames else next(iter(frames.values())).detector.concurrent_runs
        return max(1, min(len(self.cameras), allowed))

    def put(self, camera: str, frame: Any) -> None:
        """A camera frame (from its subscription callback): replaces one still waiting. A
        message, or what the camera's decoder takes."""
        self.received[camera] += 1
        self._mailbox.put(camera, frame)

    def start(self) -> None:
        """Start the threads (again after :meth:`stop`); the drop counts go on."""
        if self._started:
            return
        dropped = self._mailbox.dropped
        self._mailbox = LatestFrames(self.cameras)
        self._mailbox.dropped.update(dropped)
        self._started = True
        self._add_threads()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop taking frames and wait for the rounds in progress: their outputs are published
        before this returns, so the caller may destroy the publishers afterwards."""
        self._started = False
        self._mailbox.close()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _add_threads(self) -> None:
        """As many threads as rounds may run at once (more after a model that runs more)."""
        while self._started and len(self._threads) < self.runners:
            thread = threading.Thread(
                target=self._run,
                args=(self._mailbox,),
                name=f"odet inference {len(self._threads)}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()

    def summary(self, camera: str, now: float) -> StreamSummary:
        return self.stats[camera].summary(now, dropped=self._mailbox.dropped[camera])

    def summary_lines(self, now: float) -> list[str]:
        """The periodic log lines, one per camera."""
        return [f"{camera}: {self.summary(camera, now).line()}" for camera in self.cameras]

    def _run(self, mailbox: LatestFrames[str, Any]) -> None:
        while not mailbox.closed:
            # concurrent runs: one frame a round, the oldest waiting (no frame waits for another)
            limit = 1 if self.runners > 1 else None
            batch = mailbox.take(timeout=TAKE_TIMEOUT_S, window=self.batch_window_s, limit=limit)
            if batch:
                try:
                    self.process(batch)
                finally:
                    mailbox.done(camera for camera, _ in batch)

    @contextmanager
    def _round(self) -> Iterator[dict[str, FrameDetector] | None]:
        """A round's model, once one of the runs it allows is free and no change waits."""
        with self._gate:
            self._gate.wait_for(lambda: not self._updates and self._rounds < self.runners)
            self._rounds += 1
            frames = self._frames
        try:
            yield frames
        finally:
            with self._gate:
                self._rounds -= 1
                self._gate.notify_all()

    def process(self, batch: Sequence[tuple[str, Any]]) -> dict[str, FrameResult]:
        """Detect on one frame of each camera and hand each result to the sink; the results of
        the frames that went through. The threads call it; tests may call it directly."""
        with self._round() as frames:
            if frames is None:
                return {}
            prepared = [item for item in (self._prepare(c, f) for c, f in batch) if item]
            if prepared:  # a segmentation model's masks, when a frame of the round needs them
                wanted = any(self._sink.wants_masks(item.camera) for item in prepared)
                use_masks(frames[prepared[0].camera].detector, wanted)
            found = self._detect(frames, prepared)
            results: dict[str, FrameResult] = {}
            for item, detections in zip(prepared, found, strict=False):
                annotate = self._sink.wants_annotated(item.camera)
                results[item.camera] = frames[item.camera].finish(
                    item.frame, item.image, item.color, detections, annotate
                )
        for item in prepared:
            if item.camera in results:
                result, camera_frames = results[item.camera], frames[item.camera]
                self._sink.publish(item.camera, result, item.frame, camera_frames)
                self._record(item.camera, item.frame, result, camera_frames)
        return results

    def _prepare(self, camera: str, received: Any) -> _Prepared | None:
        decode = self._decoders.get(camera)
        try:
            frame = decode(received) if decode is not None else received
            image, color = frame_pixels(frame)
        except ImageConversionError as error:
            self._failed(camera, self._log.warning, "frame skipped", str(error))
            return None
        return _Prepared(camera, frame, image, color)

    def _detect(self, frames: Frames, prepared: list[_Prepared]) -> list[Detections]:
        """One run of the model over the prepared frames; none when it fails."""
        if not prepared:
            return []
        try:
            return frames[prepared[0].camera].detector.detect_batch(
                [item.image for item in prepared], [item.color for item in prepared]
            )
        except Exception as error:  # a model failure must not end the thread
            why = f"{type(error).__name__}: {error}"
            for item in prepared:
                self._failed(item.camera, self._log.error, "inference failed", why)
            return []

    def _record(
        self, camera: str, frame: Frame, result: FrameResult, frames: FrameDetector
    ) -> None:
        latency_s = max(0.0, (self._now_ns() - stamp_to_ns(frame.header.stamp)) / 1e9)
        self.stats[camera].record(time.monotonic(), latency_s)
        key = (id(frames.detector), camera)
        if key not in self._described:
            self._described.add(key)
            height, width = frames.detector.network_input(result.source_hw)
            source_h, source_w = result.source_hw
            self._log.info(
                f"{camera}: frames of {source_w}x{source_h} run at {width}x{height}"
                f" ({frames.detector.backend_name})"
            )

    def _failed(self, camera: str, log: Callable[[str], object], what: str, why: str) -> None:
        self.stats[camera].record_failure()
        throttled = self._throttle(f"{camera} {what}", f"{camera}: {what}: {why}")
        if throttled is not None:
            log(throttled)
