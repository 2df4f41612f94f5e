"""Rate, latency and drop figures of a stream, over a sliding time window, for diagnostics."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StreamSummary:
    """What the node reports: processed rate, latency percentiles and drop counts."""

    rate_hz: float
    latency_ms_mean: float
    latency_ms_p95: float
    processed: int
    dropped: int
    failed: int

    def line(self) -> str:
        """The periodic log line."""
        return (
            f"{self.rate_hz:.1f} Hz, latency {self.latency_ms_mean:.0f} ms"
            f" (p95 {self.latency_ms_p95:.0f}), dropped {self.dropped}, failed {self.failed}"
        )

    def as_dict(self) -> dict[str, str]:
        """String values, as diagnostic_msgs/KeyValue wants them."""
        return {
            "rate_hz": f"{self.rate_hz:.2f}",
            "latency_ms_mean": f"{self.latency_ms_mean:.1f}",
            "latency_ms_p95": f"{self.latency_ms_p95:.1f}",
            "processed": str(self.processed),
            "dropped": str(self.dropped),
            "failed": str(self.failed),
        }


class StreamStats:
    """Collects (completion time, latency) pairs and totals; times in seconds.

    Thread-safe: the inference thread records while a timer reads the summary.
    """

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._events: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()
        self.processed = 0
        self.failed = 0

    def record(self, now: float, latency_s: float) -> None:
        with self._lock:
            self.processed += 1
            self._events.append((now, latency_s))
            self._trim(now)

    def record_failure(self) -> None:
        with self._lock:
            self.failed += 1

    def _trim(self, now: float) -> None:
        while self._events and self._events[0][0] < now - self.window_s:
            self._events.popleft()

    def summary(self, now: float, dropped: int = 0) -> StreamSummary:
        with self._lock:
            self._trim(now)
            events = list(self._events)
            processed, failed = self.processed, self.failed
        if not events:
            return StreamSummary(0.0, 0.0, 0.0, processed, dropped, failed)
        times, latencies = np.array(events).T
        span = max(now - times[0], 1e-9) if len(times) > 1 else self.window_s
        latencies_ms = latencies * 1000.0
        return StreamSummary(
            rate_hz=len(times) / span,
            latency_ms_mean=float(latencies_ms.mean()),
            latency_ms_p95=float(np.percentile(latencies_ms, 95)),
            processed=processed,
            dropped=dropped,
            failed=failed,
        )
