"""Image -> numpy for a 1280x720 bgr8 frame: our zero-copy view vs a copying baseline.

The baseline is what ROS-free decoders commonly do: ``np.frombuffer(data).copy().reshape(...)``.
Both are timed on an rclpy-style message (``array('B')`` data) and on a rosbags message
deserialised from CDR (a read-only ndarray view into the serialised bytes).

Run: .venv/bin/python bench/imaging.py
"""

from __future__ import annotations

import array
import time
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
from rosbags.typesys import Stores, get_typestore

from odet_ros.imaging import image_to_numpy, numpy_to_image

HEIGHT, WIDTH = 720, 1280
ROUNDS = 7


def per_call_seconds(function: Callable[[], object], calls: int) -> float:
    """Best average over ROUNDS rounds of ``calls`` calls (the least disturbed round)."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def copying_baseline(msg: object) -> np.ndarray:
    return np.frombuffer(msg.data, np.uint8).copy().reshape(HEIGHT, WIDTH, 3)


def compare(label: str, msg: object, frame: np.ndarray) -> None:
    np.testing.assert_array_equal(image_to_numpy(msg), frame)
    np.testing.assert_array_equal(copying_baseline(msg), frame)
    ours = per_call_seconds(lambda: image_to_numpy(msg), calls=20000)
    baseline = per_call_seconds(lambda: copying_baseline(msg), calls=300)
    print(f"{label}image_to_numpy_us: {ours * 1e6:.2f}")
    print(f"{label}copy_baseline_us: {baseline * 1e6:.2f}")
    print(f"{label}image_to_numpy_speedup_vs_copy: {baseline / ours:.1f}")


def main() -> None:
    frame = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), np.uint8)
    rclpy_style = SimpleNamespace(
        height=HEIGHT,
        width=WIDTH,
        encoding="bgr8",
        is_bigendian=0,
        step=WIDTH * 3,
        data=array.array("B", frame.tobytes()),
    )
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    image_type = typestore.types["sensor_msgs/msg/Image"]
    header = typestore.types["std_msgs/msg/Header"](
        stamp=typestore.types["builtin_interfaces/msg/Time"](sec=0, nanosec=0), frame_id="camera"
    )
    raw = typestore.serialize_cdr(
        numpy_to_image(frame, "bgr8", header, image_type), image_type.__msgtype__
    )
    rosbags_msg = typestore.deserialize_cdr(raw, image_type.__msgtype__)
    compare("", rclpy_style, frame)
    compare("rosbags_", rosbags_msg, frame)


if __name__ == "__main__":
    main()
