"""The newest frame of each camera, between the subscription callbacks and the inference thread.

A camera faster than the model must not build a queue: each camera has a one-frame mailbox, the
worker takes the newest frame of every camera that has one, and every frame replaced before the
worker took it is a drop of that camera. Taking all waiting cameras at once is the fairness rule:
a fast camera cannot starve a slow one, as each gives at most one frame per round, and a round
runs the oldest-waiting camera first. Frames that arrive close together can wait a short window
for each other (to run as one batch), never past it, and never for a camera gone silent.

Several workers can take rounds at once (a model that runs frames concurrently): a camera whose
frame is in a round is busy until that round is :meth:`LatestFrames.done`, so one camera's
frames are processed one after the other, in order, and each round takes at most ``limit``
cameras, leaving the others to the next worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
ACTIVE_S = 1.0  # a camera that sent nothing for this long is not waited for


@dataclass
class _Waiting(Generic[T]):
    item: T
    since: float  # when the camera's mailbox last went from empty to full


class LatestFrames(Generic[K, T]):
    """One newest-item mailbox per key (camera), one wake-up for all. Thread-safe."""

    def __init__(self, keys: Iterable[K], clock: Callable[[], float] = time.monotonic) -> None:
        self._condition = threading.Condition()
        self._clock = clock
        self._waiting: dict[K, _Waiting[T]] = {}
        self._last_put: dict[K, float] = {}
        self._busy: set[K] = set()  # cameras whose frame is in a round
        self.dropped: dict[K, int] = {key: 0 for key in keys}
        self._closed = False

    def put(self, key: K, item: T) -> None:
        """A new frame of ``key``; one still waiting is replaced and counted as dropped."""
        with self._condition:
            now = self._clock()
            waiting = self._waiting.get(key)
            if waiting is None:
                self._waiting[key] = _Waiting(item, now)
            else:
                self.dropped[key] += 1
                waiting.item = item
            self._last_put[key] = now
            self._condition.notify_all()

    def take(
        self, timeout: float | None = None, window: float = 0.0, limit: int | None = None
    ) -> list[tuple[K, T]]:
        """The newest frame of every waiting camera that is not busy, oldest-waiting first, at
        most ``limit`` of them; they are busy until :meth:`done`. Waits up to ``timeout`` for a
        first frame, then up to ``window`` seconds more for the other active cameras (those
        heard within ACTIVE_S, not busy) to have one. Empty on timeout or once closed."""
        with self._condition:
            self._condition.wait_for(lambda: bool(self._free()) or self._closed, timeout)
            if self._closed:
                return []
            wanted = min(limit or len(self.dropped), self._active() - len(self._busy))
            if window > 0 and self._free():
                deadline = self._clock() + window
                self._condition.wait_for(
                    lambda: (
                        self._closed or len(self._free()) >= wanted or self._clock() >= deadline
                    ),
                    window,
                )
            ready = sorted(self._free(), key=lambda key: self._waiting[key].since)[:limit]
            self._busy.update(ready)
            return [(key, self._waiting.pop(key).item) for key in ready]

    def done(self, keys: Iterable[K]) -> None:
        """The round that took ``keys`` is over: their next frames may be taken."""
        with self._condition:
            self._busy.difference_update(keys)
            self._condition.notify_all()

    def close(self) -> None:
        """Wake the worker for good (node shutdown)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def _free(self) -> list[K]:
        return [key for key in self._waiting if key not in self._busy]

    def _active(self) -> int:
        now = self._clock()
        return sum(1 for last in self._last_put.values() if now - last <= ACTIVE_S)
