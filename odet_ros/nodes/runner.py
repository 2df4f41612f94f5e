"""Start-up and shut-down shared by the odet nodes: rclpy's life cycle in one place."""

from __future__ import annotations

import signal
from collections.abc import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.logging import get_logger
from rclpy.node import Node

from odet_ros.errors import OdetError


def _shut_down_on_signal(signum: int, frame: object) -> None:
    """SIGINT: end spin like SIGTERM does, instead of raising KeyboardInterrupt mid-write."""
    rclpy.try_shutdown()


def run_node(make_node: Callable[[], Node], name: str, args: list[str] | None = None) -> int:
    """Init rclpy, build the node, spin until shutdown, destroy it; the process exit code.

    A node that cannot start (a missing model or source, a bad parameter) logs one fatal line
    naming the cause and exits 1, without a stack trace. Nodes release what they hold (bags,
    devices, threads) in ``destroy_node``.
    """
    # Installed before rclpy.init, whose SIGINT handler wakes the executor and chains to it.
    signal.signal(signal.SIGINT, _shut_down_on_signal)
    rclpy.init(args=args)
    try:
        node = make_node()
    except (OdetError, ParameterException) as error:
        get_logger(name).fatal(f"cannot start: {error}")
        rclpy.try_shutdown()
        return 1
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
