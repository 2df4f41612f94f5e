"""Read a camera source at a steady rate on a thread of its own.

A device read waits for the next frame and an RTSP reconnection can take seconds: done in a ROS
timer callback, either would stall the node's executor (services, parameters, shutdown). The
pump keeps that off the executor and hands each frame to a callback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from odet_ros.camera.errors import SourceEndedError
from odet_ros.camera.reconnect import ReconnectingSource
from odet_ros.logs import Logger


class FramePump:
    """Calls ``on_frame`` with each frame at ``fps`` until stopped or the source ends.

    A late read does not cause a burst of catch-up frames: the schedule restarts from now. When
    a finite source ends, ``on_end`` is called once with the error and the thread finishes.
    An exception raised by ``on_frame`` is logged and the pump goes on with the next frame.
    """

    def __init__(
        self,
        source: ReconnectingSource,
        fps: float,
        on_frame: Callable[[NDArray[np.uint8]], None],
        on_end: Callable[[SourceEndedError], None],
        *,
        logger: Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self._source = source
        self._period = 1.0 / fps
        self._on_frame = on_frame
        self._on_end = on_end
        self._logger = logger
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="odet-camera", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to finish and wait for it (a read in progress completes first)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        due = self._clock()
        while not self._stop.is_set():
            try:
                frame = self._source.read()
            except SourceEndedError as error:
                self._on_end(error)
                return
            if frame is not None:
                try:
                    self._on_frame(frame)
                except Exception as error:  # a bad frame or a failed publish: keep going
                    self._logger.warning(f"frame not published: {type(error).__name__}: {error}")
            due += self._period
            now = self._clock()
            if due < now - self._period:
                due = now
            self._stop.wait(max(0.0, due - now))
