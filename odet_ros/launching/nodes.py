"""A node as a launch file starts it: plain, or managed (lifecycle), optionally autostarted.

With ``lifecycle`` the node is a launch_ros LifecycleNode that waits, unconfigured, for a
lifecycle manager (Nav2's lifecycle_manager, ``ros2 lifecycle set``); with ``autostart`` too, it
configures and activates itself once up, as Nav2's manager does with ``autostart: true``, and
stays a managed node. The node does it, not launch events: launch_ros' ChangeState waits for the
node's service to be discovered from the launch process, which on a busy graph was seen never to
happen.
"""

from __future__ import annotations

from typing import Any

from launch.action import Action
from launch_ros.actions import LifecycleNode, Node


def node_actions(*, lifecycle: bool, autostart: bool, **node: Any) -> list[Action]:
    """The launch actions that start the node ``node`` describes (launch_ros Node arguments;
    ``parameters`` gets ``lifecycle`` and ``autostart`` added)."""
    parameters = [*node.pop("parameters", []), {"lifecycle": lifecycle, "autostart": autostart}]
    make = LifecycleNode if lifecycle else Node
    return [make(parameters=parameters, **node)]


def is_true(text: str) -> bool:
    """A launch argument's boolean, as launch's own conditions read it."""
    return text.strip().lower() in ("true", "1", "yes", "on")
