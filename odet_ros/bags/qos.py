"""The QoS profiles recorded with each topic, so that `ros2 bag play` offers what a live robot does.

Only reliability, durability, history and depth matter to the player: deadline, lifespan and
lease stay "unspecified" (0, 0), which rmw reads as the system default.
"""

from __future__ import annotations

from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)

from odet_ros.bags.errors import BagError

UNSPECIFIED = QosTime(0, 0)


def _profile(depth: int, reliability: QosReliability, durability: QosDurability) -> Qos:
    return Qos(
        history=QosHistory.KEEP_LAST,
        depth=depth,
        reliability=reliability,
        durability=durability,
        deadline=UNSPECIFIED,
        lifespan=UNSPECIFIED,
        liveliness=QosLiveliness.SYSTEM_DEFAULT,
        liveliness_lease_duration=UNSPECIFIED,
        avoid_ros_namespace_conventions=False,
    )


# rclpy's qos_profile_sensor_data, its default profile, and a latched one for label_info.
PROFILES: dict[str, Qos] = {
    "sensor_data": _profile(5, QosReliability.BEST_EFFORT, QosDurability.VOLATILE),
    "reliable": _profile(10, QosReliability.RELIABLE, QosDurability.VOLATILE),
    "transient_local": _profile(1, QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL),
}

# `ros2 bag play` publishes each topic with the profile recorded for it. Camera topics are
# recorded reliable, as drivers publish them (REP-2003): a reliable publisher serves best-effort
# subscribers (the detector) and reliable ones (rviz's Image display) alike, a best-effort one
# only the former. label_info is latched, for late joiners. Every other type: reliable.
PROFILE_BY_TYPE: dict[str, str] = {
    "vision_msgs/msg/LabelInfo": "transient_local",
}


def qos_profile(name: str, msgtype: str) -> Qos:
    """The profile called ``name``; ``auto`` picks the one that suits ``msgtype``."""
    if name == "auto":
        name = PROFILE_BY_TYPE.get(msgtype, "reliable")
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(["auto", *PROFILES])
        raise BagError(f"unknown QoS profile {name!r}: choose one of {known}") from None
