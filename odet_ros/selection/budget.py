"""How many frames the selection may keep: a rate (frames per minute, by stamp) and a total,
with room for what is new.

Tokens fill at the rate up to a burst of at most a minute's worth and a tenth of the total (a
robot stuck in front of a hard scene keeps its rate's worth, not the disk's worth, and a total
spread over a short recording is not spent in its first minute: `bench/active.py` lost half
its rooms that way). A frame takes a token when there is one; a frame may also take up to
``ahead`` frames ahead of the rate, repaid by the frames after it: the selector lets the first
frame of a view it has not kept yet take ``new_burst`` ahead, and further frames of a new
condition one, so a short new condition gets a frame even right after a familiar keep, and a
second one where the rate allows, while the total still holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from odet_ros.selection.errors import SelectionError


@dataclass
class Budget:
    per_minute: float = 6.0  # 0: no rate limit
    total: int = 0  # 0: no total
    kept: int = 0
    _tokens: float | None = None
    _last_ns: int | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.per_minute) or self.per_minute < 0:
            raise SelectionError(f"budget per_minute must be >= 0, got {self.per_minute}")
        if self.total < 0:
            raise SelectionError(f"budget total must be >= 0, got {self.total}")

    @property
    def exhausted(self) -> bool:
        return bool(self.total) and self.kept >= self.total

    @property
    def capacity(self) -> float:
        """The most tokens saved up: the burst one scene can take at once."""
        return max(1.0, min(self.per_minute, self.total / 10 if self.total else math.inf))

    def allows(self, stamp_ns: int, ahead: int = 0) -> bool:
        """Whether a frame at ``stamp_ns`` may be kept now (stamps going back refill nothing),
        taking up to ``ahead`` frames ahead of the rate."""
        if self.exhausted:
            return False
        if not self.per_minute:
            return True
        if self._tokens is None or self._last_ns is None:
            self._tokens, self._last_ns = self.capacity, stamp_ns
        elapsed_s = max(0, stamp_ns - self._last_ns) / 1e9
        self._tokens = min(self.capacity, self._tokens + elapsed_s * self.per_minute / 60.0)
        self._last_ns = max(self._last_ns, stamp_ns)
        return self._tokens >= 1.0 - ahead

    def spend(self) -> None:
        self.kept += 1
        if self._tokens is not None:
            self._tokens -= 1.0
