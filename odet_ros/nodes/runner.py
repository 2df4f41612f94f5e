"""Start-up and shut-down shared by the odet nodes: rclpy's life cycle in one place."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import (
    Executor,
    ExternalShutdownException,
    MultiThreadedExecutor,
    SingleThreadedExecutor,
)
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from odet_ros.errors import OdetError

SPIN_PERIOD_S = 0.25  # how often the spin loop looks at the stop request


class DrainingExecutor(MultiThreadedExecutor):
    """rclpy's multi-threaded executor, whose shutdown first lets the callbacks already handed to
    its threads finish. Humble's and Jazzy's destroy their guard condition while those run, and a
    callback that found its group busy then triggers the destroyed condition: at exit, "The
    following exception was never retrieved: cannot use Destroyable because destruction was
    requested"."""

    def shutdown(self, timeout_sec: float | None = None) -> bool:
        self._executor.shutdown(wait=True)  # rclpy's thread pool (the same name on both)
        return bool(super().shutdown(timeout_sec))


def run_node(
    make_node: Callable[[], Node], name: str, args: list[str] | None = None, *, threads: int = 1
) -> int:
    """Init rclpy, build the node, spin until a signal or shutdown, destroy it; the exit code.

    SIGINT and SIGTERM only ask the spin loop to end: nothing is raised inside a callback, so a
    frame being written or inferred completes, then ``destroy_node`` releases what the node holds
    (bags, devices, threads) while ROS still runs, so its last log lines reach /rosout. rclpy's
    own signal handlers are left out: they would shut ROS down first.

    A node ends itself with ``node.context.try_shutdown()``; the loop runs on an executor of its
    own, so that is safe from a callback too (rclpy's global executor would wait for that very
    callback to finish). ``threads`` > 1 spins a multi-threaded executor, for nodes whose
    callback groups must not wait for each other.

    A node that cannot start (a missing model or source, a bad parameter) logs one fatal line
    naming the cause and exits 1, without a stack trace.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    try:
        node = make_node()
    except (OdetError, ParameterException) as error:
        get_logger(name).fatal(f"cannot start: {error}")
        rclpy.try_shutdown()
        return 1
    executor: Executor = (
        DrainingExecutor(num_threads=threads) if threads > 1 else SingleThreadedExecutor()
    )
    executor.add_node(node)
    try:
        while node.context.ok() and not stop.is_set():
            executor.spin_once(timeout_sec=SPIN_PERIOD_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
