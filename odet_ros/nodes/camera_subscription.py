"""A camera subscription whose reliability follows the publishers found on its topic.

The decision is :class:`odet_ros.runtime.qos.CameraQos`'s; this is its wiring: ask ROS for the
publishers' QoS, log what the review says, and (re)subscribe when it says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile
from rclpy.subscription import Subscription

from odet_ros.nodes.qos import publisher_qos, reliability_policy
from odet_ros.runtime.qos import CameraQos


class CameraSubscription:
    """Subscribes on the first :meth:`review` that can (``auto``: once a publisher is found),
    again when the publishers call for another reliability; :meth:`close` unsubscribes."""

    def __init__(
        self,
        node: Node,
        msg_type: type,
        topic: str,
        *,
        reliability: str,
        depth: int,
        callback: Callable[[Any], None],
    ) -> None:
        self._node = node
        self._msg_type = msg_type
        self._qos = CameraQos(reliability, topic)
        self._depth = depth
        self._callback = callback
        # A group of the camera's own: a camera's frames never wait for another camera's, the
        # status timer's or a model loading in the parameter callback. A camera's other inputs
        # (its depth, its CameraInfo) join it.
        self.group = MutuallyExclusiveCallbackGroup()
        self._subscription: Subscription | None = None

    @property
    def topic(self) -> str:
        return self._qos.topic

    def review(self) -> None:
        node, topic = self._node, self._qos.topic
        review = self._qos.review(publisher_qos(node.get_publishers_info_by_topic(topic)))
        for message in review.info:
            node.get_logger().info(message)
        for message in review.warnings:
            node.get_logger().warning(message)
        if review.subscribe is None:
            return
        if self._subscription is not None:
            node.destroy_subscription(self._subscription)
        qos = QoSProfile(depth=self._depth, reliability=reliability_policy(review.subscribe))
        self._subscription = node.create_subscription(
            self._msg_type, topic, self._callback, qos, callback_group=self.group
        )
        node.get_logger().info(
            f"subscribed to {topic} ({self._msg_type.__name__}, {review.subscribe})"
        )

    def close(self) -> None:
        if self._subscription is not None:
            self._node.destroy_subscription(self._subscription)
            self._subscription = None
        self._qos.forget()
