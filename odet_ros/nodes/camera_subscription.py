"""A camera subscription whose reliability follows the publishers found on its topic.

The decision is :class:`odet_ros.runtime.qos.CameraQos`'s; this is its wiring: ask ROS for the
publishers' QoS, log what the review says, and (re)subscribe when it says so. Frames arrive
serialized (rclpy's ``raw``): :func:`frame_decoder` reads them in place on the thread that runs
them, so rclpy never copies a frame's pixels into Python, nor spends that on a dropped frame.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from builtin_interfaces.msg import Time
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile
from rclpy.subscription import Subscription
from std_msgs.msg import Header

from odet_ros.imaging.cdr import compressed_image_from_cdr, image_from_cdr
from odet_ros.nodes.qos import publisher_qos, reliability_policy
from odet_ros.runtime.inference import Decoder
from odet_ros.runtime.qos import CameraQos


def ros_header(sec: int, nanosec: int, frame_id: str) -> Header:
    """An rclpy std_msgs/Header: outputs are stamped with their frame's."""
    return Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)


def frame_decoder(compressed: bool) -> Decoder:
    """Serialized Image (or CompressedImage) bytes -> a message whose pixels are a view of them."""
    read = compressed_image_from_cdr if compressed else image_from_cdr
    return functools.partial(read, make_header=ros_header)


class CameraSubscription:
    """Subscribes on the first :meth:`review` that can (``auto``: once a publisher is found),
    again when the publishers call for another reliability; :meth:`close` unsubscribes.
    ``callback`` gets each message serialized (bytes), for :func:`frame_decoder`."""

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
            self._msg_type, topic, self._callback, qos, callback_group=self.group, raw=True
        )
        node.get_logger().info(
            f"subscribed to {topic} ({self._msg_type.__name__}, {review.subscribe})"
        )

    def close(self) -> None:
        if self._subscription is not None:
            self._node.destroy_subscription(self._subscription)
            self._subscription = None
        self._qos.forget()
