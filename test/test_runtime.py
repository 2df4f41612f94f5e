"""The newest-frame slot and the stream statistics used by the live nodes."""

import threading
import time

import pytest

from odet_ros.runtime.latest import LatestFrames
from odet_ros.runtime.stats import StreamStats


def test_each_camera_keeps_only_its_newest_frame_and_counts_its_drops():
    frames = LatestFrames(["a", "b"])
    for i in range(5):
        frames.put("a", i)
    frames.put("b", "only")
    assert frames.take(timeout=0) == [("a", 4), ("b", "only")]
    assert frames.dropped == {"a": 4, "b": 0}
    assert frames.take(timeout=0) == []


def test_a_round_runs_the_oldest_waiting_camera_first():
    now = [0.0]
    frames = LatestFrames(["fast", "slow"], clock=lambda: now[0])
    frames.put("slow", "s1")
    now[0] = 0.01
    for i in range(3):  # a fast camera replaces its frame, but cannot jump the queue
        frames.put("fast", f"f{i}")
    assert frames.take(timeout=0) == [("slow", "s1"), ("fast", "f2")]


def test_a_take_waits_the_window_for_the_other_active_cameras_but_not_for_a_silent_one():
    frames = LatestFrames(["a", "b"])
    frames.put("a", 1)
    frames.put("b", 1)
    frames.take(timeout=0)  # both heard recently: both active
    frames.done(["a", "b"])
    frames.put("a", 2)
    threading.Timer(0.05, lambda: frames.put("b", 2)).start()
    assert frames.take(timeout=1, window=5.0) == [("a", 2), ("b", 2)]  # b came within it
    silent = LatestFrames(["a", "b"])
    silent.put("a", 1)
    started = time.monotonic()
    assert silent.take(timeout=1, window=5.0) == [("a", 1)]  # b never sent: no wait
    assert time.monotonic() - started < 1.0  # a hang guard: 5 s would mean it waited


def test_a_camera_in_a_round_is_not_taken_again_until_the_round_is_done():
    """Concurrent workers: one camera's frames go out in order, and each round takes its share
    of the cameras, oldest-waiting first, leaving the rest to the next worker."""
    now = [0.0]
    frames = LatestFrames(["a", "b", "c", "d"], clock=lambda: now[0])
    for camera in "abcd":
        now[0] += 0.01
        frames.put(camera, 1)
    assert frames.take(timeout=0, limit=2) == [("a", 1), ("b", 1)]
    frames.put("a", 2)  # a's next frame, while a's first is in the first round
    assert frames.take(timeout=0, limit=2) == [("c", 1), ("d", 1)]  # a is busy
    assert frames.take(timeout=0, limit=2) == []
    frames.done(["a", "b"])
    assert frames.take(timeout=0, limit=2) == [("a", 2)]
    assert frames.dropped == dict.fromkeys("abcd", 0)


def test_a_worker_waiting_for_a_busy_camera_wakes_when_its_round_is_done():
    frames = LatestFrames(["a"])
    frames.put("a", 1)
    assert frames.take(timeout=0) == [("a", 1)]
    frames.put("a", 2)
    got = []
    waiter = threading.Thread(target=lambda: got.append(frames.take(timeout=30)))
    waiter.start()
    time.sleep(0.05)
    assert not got  # a's frame waits while its round is out
    frames.done(["a"])
    waiter.join(timeout=5)
    assert got == [[("a", 2)]]


def test_close_wakes_a_waiting_worker():
    frames = LatestFrames(["a"])
    got = []
    waiter = threading.Thread(target=lambda: got.append(frames.take(timeout=30)))
    waiter.start()
    frames.close()
    waiter.join(timeout=5)
    assert not waiter.is_alive() and got == [[]] and frames.closed


def test_slow_consumer_sees_bounded_latency_not_a_queue():
    """A producer 10x faster than the consumer: the consumer always gets a recent frame."""
    frames = LatestFrames(["cam"])
    stop = threading.Event()

    def produce():
        i = 0
        while not stop.is_set():
            frames.put("cam", (i, time.monotonic()))
            i += 1
            time.sleep(0.001)

    producer = threading.Thread(target=produce)
    producer.start()
    ages = []
    for _ in range(10):
        ((_, item),) = frames.take(timeout=1)
        frames.done(["cam"])
        ages.append(time.monotonic() - item[1])
        time.sleep(0.01)
    stop.set()
    producer.join()
    assert frames.dropped["cam"] > 10
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
