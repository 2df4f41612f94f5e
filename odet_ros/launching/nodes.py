"""A node as a launch file starts it: plain, or managed (lifecycle) with an optional autostart.

With ``lifecycle`` the node is a launch_ros LifecycleNode that waits, unconfigured, for a
lifecycle manager (Nav2's lifecycle_manager, ``ros2 lifecycle set``); with ``autostart`` too,
the launch itself configures it and activates it once inactive, as Nav2's manager does with
``autostart: true``.
"""

from __future__ import annotations

from typing import Any

from launch.action import Action
from launch.actions import EmitEvent, RegisterEventHandler
from launch.events import matches_action
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition


def node_actions(*, lifecycle: bool, autostart: bool, **node: Any) -> list[Action]:
    """The launch actions that start the node ``node`` describes (launch_ros Node arguments;
    ``parameters`` gets ``lifecycle`` added)."""
    parameters = [*node.pop("parameters", []), {"lifecycle": lifecycle}]
    if not lifecycle:
        return [Node(parameters=parameters, **node)]
    managed = LifecycleNode(parameters=parameters, **node)
    if not autostart:
        return [managed]

    def transition(transition_id: int) -> EmitEvent:
        return EmitEvent(
            event=ChangeState(
                lifecycle_node_matcher=matches_action(managed), transition_id=transition_id
            )
        )

    activate_when_configured = RegisterEventHandler(
        OnStateTransition(
            target_lifecycle_node=managed,
            start_state="configuring",
            goal_state="inactive",
            entities=[transition(Transition.TRANSITION_ACTIVATE)],
        )
    )
    return [activate_when_configured, managed, transition(Transition.TRANSITION_CONFIGURE)]


def is_true(text: str) -> bool:
    """A launch argument's boolean, as launch's own conditions read it."""
    return text.strip().lower() in ("true", "1", "yes", "on")
