"""How many frames the selection may keep: a rate (frames per minute, by stamp) and a total. A
burst may take at most a minute's worth and a tenth of the total: a robot stuck in front of a
hard scene keeps its rate's worth, not the disk's worth, and a total spread over a short
recording is not spent in its first minute (`bench/active.py` lost half its rooms that way)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from odet_ros.errors import OdetError


@dataclass
class Budget:
    per_minute: float = 6.0  # 0: no rate limit
    total: int = 0  # 0: no total
    kept: int = 0
    _tokens: float | None = None
    _last_ns: int | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.per_minute) or self.per_minute < 0:
            raise OdetError(f"budget per_minute must be >= 0, got {self.per_minute}")
        if self.total < 0:
            raise OdetError(f"budget total must be >= 0, got {self.total}")

    @property
    def exhausted(self) -> bool:
        return bool(self.total) and self.kept >= self.total

    def allows(self, stamp_ns: int) -> bool:
        """Whether a frame at ``stamp_ns`` may be kept now (stamps going back refill nothing)."""
        if self.exhausted:
            return False
        if not self.per_minute:
            return True
        capacity = max(1.0, min(self.per_minute, self.total / 10 if self.total else math.inf))
        if self._tokens is None or self._last_ns is None:
            self._tokens, self._last_ns = capacity, stamp_ns
        elapsed_s = max(0, stamp_ns - self._last_ns) / 1e9
        self._tokens = min(capacity, self._tokens + elapsed_s * self.per_minute / 60.0)
        self._last_ns = max(self._last_ns, stamp_ns)
        return self._tokens >= 1.0

    def spend(self) -> None:
        self.kept += 1
        if self._tokens is not None:
            self._tokens -= 1.0
