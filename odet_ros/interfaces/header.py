"""std_msgs/Header and builtin_interfaces/Time helpers shared by bag writing and nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from odet_ros.interfaces.protocols import Stamp

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore


def stamp_to_ns(stamp: Stamp) -> int:
    """Nanoseconds of a ``builtin_interfaces/Time`` (rclpy or rosbags message)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def make_header(typestore: Typestore, stamp_ns: int, frame_id: str) -> Any:
    """A rosbags ``std_msgs/Header`` with the given stamp and frame."""
    time_type = typestore.types["builtin_interfaces/msg/Time"]
    header_type = typestore.types["std_msgs/msg/Header"]
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return header_type(stamp=time_type(sec=sec, nanosec=nanosec), frame_id=frame_id)
