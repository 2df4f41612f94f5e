"""Reading a bag: odet_ros.bags.read_messages vs a plain rosbags AnyReader loop, and peak memory.

Speed: all messages of a 500-frame 640x480 bgr8 mcap bag, each message deserialised, by our
reader and by ``AnyReader.messages()`` + ``AnyReader.deserialize()`` (best of ROUNDS, in turns).
Also timed: the same bag cut short (95 % of its bytes, no index), which goes through the
salvage parser instead of rosbags' reader (it reads the file twice: index, then messages).
Memory: the peak RSS (Linux VmHWM) of a fresh process reading a 250- and a 1000-frame bag; a
streaming reader holds about one chunk at a time, so the peak must not grow with the bag.

Run: .venv/bin/python bench/bags.py
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rosbags.highlevel import AnyReader

from odet_ros.bags import BagWriter, make_typestore, read_messages

HEIGHT, WIDTH = 480, 640
SPEED_FRAMES = 500
MEMORY_FRAMES = (250, 1000)
ROUNDS = 5
PERIOD_NS = 33_333_333


def write_bag(path: Path, frames: int) -> Path:
    """An mcap bag of ``frames`` bgr8 images (noise, so nothing compresses away)."""
    typestore = make_typestore()
    types = typestore.types
    pixels = np.random.default_rng(0).integers(0, 256, HEIGHT * WIDTH * 3, dtype=np.uint8)
    with BagWriter(path) as writer:
        writer.add_topic("/camera/image_raw", "sensor_msgs/msg/Image")
        for frame in range(frames):
            stamp = frame * PERIOD_NS
            header = types["std_msgs/msg/Header"](
                stamp=types["builtin_interfaces/msg/Time"](
                    sec=stamp // 10**9, nanosec=stamp % 10**9
                ),
                frame_id="camera",
            )
            image = types["sensor_msgs/msg/Image"](
                header=header,
                height=HEIGHT,
                width=WIDTH,
                encoding="bgr8",
                is_bigendian=0,
                step=WIDTH * 3,
                data=pixels,
            )
            writer.write("/camera/image_raw", stamp, image)
    return path


def read_ours(path: Path) -> int:
    return sum(len(message.msg.data) for message in read_messages(path))


def read_anyreader(path: Path) -> int:
    total = 0
    with AnyReader([path], default_typestore=make_typestore()) as reader:
        for connection, _, raw in reader.messages():
            total += len(reader.deserialize(raw, connection.msgtype).data)
    return total


def seconds(read: Callable[[Path], int], path: Path) -> float:
    start = time.perf_counter()
    read(path)
    return time.perf_counter() - start


def peak_rss_mb(path: Path) -> float:
    """Peak RSS of a fresh process that reads every message of ``path`` with our reader."""
    done = subprocess.run(
        [sys.executable, __file__, "--peak", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="odet-bench-bags-") as tmp:
        bag = write_bag(Path(tmp) / "speed", SPEED_FRAMES)
        expected = SPEED_FRAMES * HEIGHT * WIDTH * 3
        assert read_ours(bag) == read_anyreader(bag) == expected
        ours, baseline = [], []
        for _ in range(ROUNDS):
            ours.append(seconds(read_ours, bag))
            baseline.append(seconds(read_anyreader, bag))
        print(f"read_ms_per_frame_ours: {min(ours) / SPEED_FRAMES * 1e3:.3f}")
        print(f"read_ms_per_frame_anyreader: {min(baseline) / SPEED_FRAMES * 1e3:.3f}")
        print(f"read_time_ratio_vs_anyreader: {min(ours) / min(baseline):.3f}")
        cut = Path(tmp) / "cut.mcap"
        data = (bag / "speed.mcap").read_bytes()
        cut.write_bytes(data[: len(data) * 95 // 100])
        del data
        logging.getLogger("odet_ros.bags").setLevel(logging.ERROR)  # one warning per read
        salvaged = min(seconds(read_ours, cut) for _ in range(ROUNDS))
        print(f"cut_bag_read_time_ratio_vs_intact: {salvaged / min(ours):.3f}")
        shutil.rmtree(bag)
        cut.unlink()
        for frames in MEMORY_FRAMES:
            path = write_bag(Path(tmp) / f"memory{frames}", frames)
            print(f"peak_mem_mb_{frames}_frames: {peak_rss_mb(path):.1f}")


def measure_peak(path: Path) -> None:
    """Print this process's peak RSS in MB after reading ``path``.

    VmHWM, not ru_maxrss: on Linux the latter keeps the parent's peak across fork and exec.
    """
    read_ours(path)
    status = Path("/proc/self/status").read_text().splitlines()
    (line,) = [line for line in status if line.startswith("VmHWM:")]
    print(int(line.split()[1]) / 1024)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak"]:
        measure_peak(Path(sys.argv[2]))
    else:
        main()
