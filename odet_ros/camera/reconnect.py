"""Keep a device or stream source alive: reopen it with exponential back-off when it drops.

``read()`` never blocks on a dead source: between attempts it returns None, so a timer-driven
node keeps spinning (and answering services) while the camera is unplugged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from odet_ros.camera.errors import SourceDroppedError
from odet_ros.camera.sources import FrameSource
from odet_ros.errors import OdetError
from odet_ros.logs import Logger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnection attempts: initial, then times factor, up to maximum."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the given number of consecutive failures (>= 1)."""
        return min(self.maximum, self.initial * self.factor ** (failures - 1))


class ReconnectingSource:
    """Wraps an open source; on SourceDroppedError closes it and reopens it after a back-off."""

    def __init__(
        self,
        source: FrameSource,
        reopen: Callable[[], FrameSource],
        backoff: Backoff = Backoff(),
        clock: Callable[[], float] = time.monotonic,
        logger: Logger = log,
    ) -> None:
        self._source: FrameSource | None = source
        self._reopen = reopen
        self._backoff = backoff
        self._clock = clock
        self._logger = logger
        self._failures = 0
        self._retry_at = 0.0
        self.spec = source.spec

    @property
    def connected(self) -> bool:
        return self._source is not None

    def read(self) -> NDArray[np.uint8] | None:
        """The next frame, or None while the source is down. SourceEndedError passes through."""
        source = self._source or self._reopened()
        if source is None:
            return None
        try:
            return source.read()
        except SourceDroppedError as error:
            self._drop(str(error))
            return None

    def _drop(self, why: str) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
        self._failures += 1
        delay = self._backoff.delay(self._failures)
        self._retry_at = self._clock() + delay
        self._logger.warning(f"{why}; reconnecting in {delay:.1f} s (attempt {self._failures})")

    def _reopened(self) -> FrameSource | None:
        if self._clock() < self._retry_at:
            return None
        try:
            self._source = self._reopen()
        except OdetError as error:
            self._drop(str(error))
            return None
        self._logger.info(f"reconnected to {self.spec} after {self._failures} attempt(s)")
        self._failures = 0
        return self._source

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
