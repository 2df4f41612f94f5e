"""The capture recorder: incoming camera frames -> samplers -> a recording session.

Everything the capture node does apart from ROS wiring: it judges each frame with its topic's
sampler, stores kept frames (and each camera's CameraInfo when it changes) in the session, and
turns session failures (low disk, write errors) into a clean stop with an error log instead of an
exception in a subscription callback. A snapshot works while stopped too: the frame goes into the
session, which is opened for it (the "take a photo" button).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from odet_ros.bags import make_typestore
from odet_ros.camera.calibration import CameraCalibration
from odet_ros.capture.session import CaptureSession, SessionSettings
from odet_ros.capture.stored import StoredMessages
from odet_ros.capture.topics import CAMERA_INFO_TYPE, check_topics, stored_topic
from odet_ros.errors import OdetError
from odet_ros.imaging import to_numpy
from odet_ros.interfaces.header import stamp_to_ns
from odet_ros.interfaces.topics import camera_info_beside
from odet_ros.logs import Logger
from odet_ros.sampling import Counters, Decision, FrameSampler, SamplerSettings
from odet_ros.selection.records import SELECTION_TOPIC, SELECTION_TYPE, SelectionRecord

if TYPE_CHECKING:
    from odet_ros.interfaces.protocols import (
        CameraInfoMessage,
        CompressedImageMessage,
        Header,
        ImageMessage,
    )

    Frame = ImageMessage | CompressedImageMessage


@dataclass(frozen=True)
class TopicStatus:
    """What diagnostics and the periodic log show for one camera."""

    topic: str
    counters: Counters
    settings: SamplerSettings
    calibrating: bool
    invalid: int

    def values(self, session: CaptureSession | None) -> dict[str, str]:
        """The camera's figures as /diagnostics key-value strings, with the open session's."""
        counters, settings = self.counters, self.settings
        values = {
            "seen": counters.seen,
            "kept": counters.kept,
            "snapshots": counters.snapshots,
            "too_soon": counters.too_soon,
            "blurred": counters.blurred,
            "duplicate": counters.duplicate,
            "invalid": self.invalid,
            "period": settings.period,
            "blur_threshold": round(settings.blur_threshold, 2),
            "duplicate_threshold": settings.duplicate_threshold,
            "calibrating": self.calibrating,
            "session": session.directory if session else "",
            "messages_written": session.messages if session else 0,
        }
        return {key: str(value) for key, value in values.items()}


# capture_node's defaults: one frame a second at most, none that barely differs from the last
DEFAULT_SAMPLING = SamplerSettings(period=1.0, blur_threshold=0.0, duplicate_threshold=4.0)


@dataclass
class _Camera:
    topic: str
    sampler: FrameSampler
    invalid: int = 0
    calibration: CameraCalibration | None = None
    calibration_header: Header | None = None
    stored_calibration: CameraCalibration | None = None


class CaptureRecorder:
    """Samples frames of several camera topics into one recording session at a time."""

    def __init__(
        self,
        topics: list[str],
        sampling: SamplerSettings,
        session: SessionSettings,
        logger: Logger,
        *,
        store_compressed: bool = True,
        jpeg_quality: int = 90,
        open_session: Callable[[SessionSettings], CaptureSession] = CaptureSession,
    ) -> None:
        self.cameras = {t: _Camera(t, FrameSampler(sampling)) for t in check_topics(topics)}
        self.session_settings = session
        self.stored = StoredMessages(make_typestore(session.distro), store_compressed, jpeg_quality)
        self.recording = False
        self.session: CaptureSession | None = None
        self.last_error: str | None = None
        self._log = logger
        self._open_session = open_session

    def start(self) -> Path:
        """Start recording (a new session unless one is open); returns its directory. A session
        that cannot open (low disk, no permission) is an error the diagnostics show."""
        try:
            session = self._session()
        except OdetError as error:
            self.last_error = f"cannot start recording: {error}"
            self._log.error(self.last_error)
            raise
        self.recording = True
        self.last_error = None
        return session.directory

    def stop(self) -> Path | None:
        """Stop recording and close the session; returns its directory (None if none)."""
        self.recording = False
        session, self.session = self.session, None
        if session is None:
            return None
        session.close()
        parts = len(session.parts)
        self._log.info(f"closed {session.directory}: {session.messages} messages, {parts} bag(s)")
        return session.directory

    def snapshot(self) -> None:
        """Keep the next frame of every camera whatever the sampling says."""
        for camera in self.cameras.values():
            camera.sampler.snapshot()

    def command(self, name: str) -> tuple[bool, str]:
        """What capture_node's ~/start, ~/stop and ~/snapshot services do, and their answer."""
        if name == "start":
            try:
                return True, f"recording to {self.start()}"
            except OdetError as error:
                return False, str(error)
        if name == "stop":
            directory = self.stop()
            return True, f"closed {directory}" if directory else "was not recording"
        if name == "snapshot":
            self.snapshot()
            return True, f"keeping the next frame of {len(self.cameras)} camera(s)"
        raise ValueError(f"unknown capture command {name!r}")

    def configure_sampling(self, **changes: float) -> None:
        """Change sampler thresholds at run time (a calibrated blur threshold is overridden
        only when blur_threshold itself changes)."""
        for camera in self.cameras.values():
            camera.sampler.settings = replace(camera.sampler.settings, **changes)

    def calibrate_blur(self, seconds: float, percentile: float) -> None:
        for camera in self.cameras.values():
            camera.sampler.calibrate(seconds, percentile)

    def on_camera_info(self, image_topic: str, msg: CameraInfoMessage) -> None:
        """Remember the latest CameraInfo of a camera; it is stored with its next kept frame."""
        camera = self.cameras[image_topic]
        camera.calibration = CameraCalibration.from_message(msg)
        camera.calibration_header = self.stored.header(msg)

    def on_image(
        self, topic: str, msg: ImageMessage | CompressedImageMessage, receive_ns: int
    ) -> Decision | None:
        """Judge one frame and store it if kept; None when not recording (and no snapshot)
        or when the frame cannot be used."""
        camera = self.cameras[topic]
        if not self.recording and not camera.sampler.snapshot_pending:
            return None
        bgr8 = functools.cache(lambda: to_numpy(msg, "bgr8"))
        stamp_ns = stamp_to_ns(msg.header.stamp) or receive_ns
        try:
            decision = camera.sampler.offer(stamp_ns, bgr8)
            frame = self.stored.frame(msg, bgr8) if decision.keep else None
        except OdetError as error:
            self._reject(camera, error)
            return None
        if decision.calibrated_threshold is not None:
            self._log.info(
                f"{topic}: blur threshold calibrated to {decision.calibrated_threshold:.1f}"
            )
        if frame is not None:
            try:
                self._write(camera, frame, receive_ns)
            except OdetError as error:
                self._fail(error)
        return decision

    def keep(
        self,
        topic: str,
        msg: ImageMessage | CompressedImageMessage,
        receive_ns: int,
        record: SelectionRecord,
        bgr8: Callable[[], NDArray[np.uint8]],
    ) -> None:
        """Store a frame the model's selection chose (the sampler is not asked) and its
        selection record, naming the topic the frame is stored on."""
        camera = self.cameras[topic]
        if not self.recording:
            return
        try:
            frame = self.stored.frame(msg, bgr8)
        except OdetError as error:
            self._reject(camera, error)
            return
        stored, _ = stored_topic(topic, self.stored.store_compressed)
        text = self.stored.text(replace(record, topic=stored).to_json())
        try:
            self._write(camera, frame, receive_ns)
            self._session().write(SELECTION_TOPIC, SELECTION_TYPE, receive_ns, text)
        except OdetError as error:
            self._fail(error)

    def tick(self) -> None:
        """Periodic housekeeping: flush when due, stop cleanly on low disk."""
        if self.session is not None:
            try:
                self.session.housekeep()
            except OdetError as error:
                self._fail(error)

    def status(self) -> list[TopicStatus]:
        return [
            TopicStatus(
                c.topic, c.sampler.counters, c.sampler.settings, c.sampler.calibrating, c.invalid
            )
            for c in self.cameras.values()
        ]

    def summary(self) -> str:
        """One log line: state, then the counters of each camera."""
        state = "stopped"
        if self.recording and self.session is not None:
            state = f"recording to {self.session.directory}"
        cameras = "; ".join(
            f"{s.topic}: seen {s.counters.seen} kept {s.counters.kept} "
            f"blurred {s.counters.blurred} duplicate {s.counters.duplicate} "
            f"too_soon {s.counters.too_soon}"
            for s in self.status()
        )
        return f"{state} | {cameras}"

    def _session(self) -> CaptureSession:
        if self.session is None:
            self.session = self._open_session(self.session_settings)
            for camera in self.cameras.values():
                camera.stored_calibration = None
            self._log.info(f"recording session {self.session.directory}")
        return self.session

    def _write(
        self, camera: _Camera, frame: ImageMessage | CompressedImageMessage, receive_ns: int
    ) -> None:
        """Store a kept frame, preceded by its camera's CameraInfo when that changed."""
        session = self._session()
        calibration, header = camera.calibration, camera.calibration_header
        if (
            calibration is not None
            and header is not None
            and calibration != camera.stored_calibration
        ):
            info = self.stored.camera_info(calibration, header)
            session.latch(camera_info_beside(camera.topic), CAMERA_INFO_TYPE, receive_ns, info)
            camera.stored_calibration = camera.calibration
        topic, msgtype = stored_topic(camera.topic, self.stored.store_compressed)
        session.write(topic, msgtype, receive_ns, frame)

    def read(self, topic: str, decode: Callable[[bytes], Frame], serialized: bytes) -> Frame | None:
        """A frame of ``topic`` read from its serialized bytes (``decode``); None, counted as
        unusable, when they are no image."""
        try:
            return decode(serialized)
        except OdetError as error:
            self.reject(topic, error)
            return None

    def reject(self, topic: str, error: OdetError) -> None:
        """Count an unusable frame of ``topic`` (warned about once)."""
        self._reject(self.cameras[topic], error)

    def _reject(self, camera: _Camera, error: OdetError) -> None:
        camera.invalid += 1
        if camera.invalid == 1:
            self._log.warning(f"{camera.topic}: unusable frame ({error}); counting further ones")

    def _fail(self, error: OdetError) -> None:
        """Stop after a session failure; what was written before it stays on disk (the session
        has closed its bag as well as it could and said how in ``error``)."""
        self._log.error(f"recording stopped: {error}")
        self.last_error = str(error)
        self.recording = False
        session, self.session = self.session, None
        if session is not None:
            with contextlib.suppress(
                OdetError
            ):  # already closed by the failure; the cause is above
                session.close()
