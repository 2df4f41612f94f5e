"""rclpy's QoS enums as the plain strings :mod:`odet_ros.runtime.qos` decides with."""

from __future__ import annotations

from collections.abc import Iterable

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.topic_endpoint_info import TopicEndpointInfo

from odet_ros.runtime.qos import PublisherQos

# label_info: the last message kept for subscribers that join later (transient local).
LATCHED = QoSProfile(
    depth=1,
    history=HistoryPolicy.KEEP_LAST,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
RELIABILITY = {ReliabilityPolicy.RELIABLE: "reliable", ReliabilityPolicy.BEST_EFFORT: "best_effort"}
DURABILITY = {
    DurabilityPolicy.TRANSIENT_LOCAL: "transient_local",
    DurabilityPolicy.VOLATILE: "volatile",
}


def publisher_qos(found: Iterable[TopicEndpointInfo]) -> list[PublisherQos]:
    """The publishers ``get_publishers_info_by_topic`` found, as the core reads them."""
    return [
        PublisherQos(
            f"{info.node_namespace.rstrip('/')}/{info.node_name}",
            RELIABILITY.get(info.qos_profile.reliability, "unknown"),
            DURABILITY.get(info.qos_profile.durability, "unknown"),
        )
        for info in found
    ]


def reliability_policy(name: str) -> ReliabilityPolicy:
    return ReliabilityPolicy.RELIABLE if name == "reliable" else ReliabilityPolicy.BEST_EFFORT
