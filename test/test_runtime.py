"""The newest-frame slot and the stream statistics used by the live nodes."""

import threading
import time

import pytest

from odet_ros.runtime import LatestSlot, StreamStats


def test_slot_keeps_only_the_newest_and_counts_drops():
    slot = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert slot.take(timeout=0) == 4
    assert slot.dropped == 4
    assert slot.take(timeout=0) is None


def test_slot_wakes_a_waiting_worker_and_close_releases_it():
    slot = LatestSlot()
    got = []
    worker = threading.Thread(target=lambda: got.append(slot.take(timeout=5)))
    worker.start()
    slot.put("frame")
    worker.join(timeout=5)
    assert got == ["frame"]

    waiter = threading.Thread(target=lambda: got.append(slot.take(timeout=30)))
    waiter.start()
    slot.close()
    waiter.join(timeout=5)
    assert not waiter.is_alive()
    assert got[-1] is None
    assert slot.closed


def test_slow_consumer_sees_bounded_latency_not_a_queue():
    """A producer 10x faster than the consumer: the consumer always gets a recent frame."""
    slot = LatestSlot()
    stop = threading.Event()

    def produce():
        i = 0
        while not stop.is_set():
            slot.put((i, time.monotonic()))
            i += 1
            time.sleep(0.001)

    producer = threading.Thread(target=produce)
    producer.start()
    ages = []
    for _ in range(10):
        item = slot.take(timeout=1)
        ages.append(time.monotonic() - item[1])
        time.sleep(0.01)
    stop.set()
    producer.join()
    assert slot.dropped > 10
    assert max(ages) < 0.5  # a queue would hold frames for ever longer


def test_stats_rate_latency_and_window():
    stats = StreamStats(window_s=2.0)
    for i in range(21):
        stats.record(now=i * 0.1, latency_s=0.05 if i % 2 else 0.15)
    summary = stats.summary(now=2.0, dropped=3)
    assert summary.rate_hz == pytest.approx(10.0, rel=0.1)
    assert summary.latency_ms_mean == pytest.approx(100.0, rel=0.1)
    assert summary.latency_ms_p95 == pytest.approx(150.0, rel=0.01)
    assert (summary.processed, summary.dropped, summary.failed) == (21, 3, 0)
    stats.record_failure()
    late = stats.summary(now=100.0)
    assert late.rate_hz == 0.0
    assert late.failed == 1
    assert set(late.as_dict()) == {
        "rate_hz",
        "latency_ms_mean",
        "latency_ms_p95",
        "processed",
        "dropped",
        "failed",
    }
