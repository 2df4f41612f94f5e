"""Colour and depth frames paired by stamp.

Drivers publish an aligned depth frame with the stamp of the colour frame it belongs to (or
within a few milliseconds of it), on its own topic, so the two arrive in either order. The
detector keeps the last depth frames here and, for the colour frame it is about to answer, takes
the one nearest in stamp, waiting up to the tolerance for one that has not arrived yet. This
keeps the newest-frame rule (no queue of colour-depth pairs, as a message_filters synchronizer
would build) and costs no latency when depth is on time.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")


class DepthBuffer(Generic[T]):
    """The last ``capacity`` depth frames by stamp (ns); thread-safe."""

    def __init__(self, capacity: int = 10) -> None:
        self._frames: deque[tuple[int, T]] = deque(maxlen=capacity)
        self._condition = threading.Condition()
        self.received = 0

    def put(self, stamp_ns: int, frame: T) -> None:
        with self._condition:
            self._frames.append((stamp_ns, frame))
            self.received += 1
            self._condition.notify_all()

    def nearest(self, stamp_ns: int, tolerance_ns: int, wait_s: float = 0.0) -> T | None:
        """The frame nearest ``stamp_ns`` within ``tolerance_ns``; when none is yet newer than
        the stamp, wait up to ``wait_s`` for one (depth published after its colour frame)."""
        with self._condition:
            self._condition.wait_for(
                lambda: any(stamp >= stamp_ns for stamp, _ in self._frames), wait_s
            )
            best = min(self._frames, key=lambda item: abs(item[0] - stamp_ns), default=None)
        if best is None or abs(best[0] - stamp_ns) > tolerance_ns:
            return None
        return best[1]

    def newest_stamp(self) -> int | None:
        with self._condition:
            return self._frames[-1][0] if self._frames else None


class OfflinePairer(Generic[T, U]):
    """Pairing for a recording read in order: a colour frame waits until the depth stream has
    passed its stamp by the tolerance (or ``hold`` frames wait), then leaves with its nearest
    depth frame, or None."""

    def __init__(self, tolerance_ns: int, hold: int = 30) -> None:
        self._tolerance = tolerance_ns
        self._hold = hold
        self._depth: DepthBuffer[U] = DepthBuffer(capacity=4 * hold)
        self._waiting: deque[tuple[int, T]] = deque()

    def image(self, stamp_ns: int, frame: T) -> list[tuple[T, U | None]]:
        self._waiting.append((stamp_ns, frame))
        return self._ready()

    def depth(self, stamp_ns: int, frame: U) -> list[tuple[T, U | None]]:
        self._depth.put(stamp_ns, frame)
        return self._ready()

    def finish(self) -> list[tuple[T, U | None]]:
        """Every frame still waiting, paired with what depth there is."""
        return [self._pair(*self._waiting.popleft()) for _ in range(len(self._waiting))]

    def _ready(self) -> list[tuple[T, U | None]]:
        newest = self._depth.newest_stamp()
        ready = []
        while self._waiting and (
            len(self._waiting) > self._hold
            or (newest is not None and newest > self._waiting[0][0] + self._tolerance)
        ):
            ready.append(self._pair(*self._waiting.popleft()))
        return ready

    def _pair(self, stamp_ns: int, frame: T) -> tuple[T, U | None]:
        return frame, self._depth.nearest(stamp_ns, self._tolerance)
