"""What the core needs of a logger, and throttling it: the nodes pass rclpy's node logger, the CLI
and the tests a :class:`logging.Logger`; both fit :class:`Logger`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Logger(Protocol):
    """Both logging.Logger and rclpy's node logger fit."""

    def info(self, message: str, /) -> object: ...

    def warning(self, message: str, /) -> object: ...

    def error(self, message: str, /) -> object: ...


class Throttle:
    """Lets one message per key through every ``period_s`` seconds and says how many it held back,
    so that a camera sending nothing but bad frames fills no disk with log lines."""

    def __init__(self, period_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.period_s = period_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def __call__(self, key: str, message: str) -> str | None:
        """``message`` (with the count held back since the last one) if due, else None."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.period_s:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = now
        held = self._held.pop(key, 0)
        return f"{message} ({held} more since the last such message)" if held else message
