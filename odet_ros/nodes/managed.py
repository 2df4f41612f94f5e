"""A node that is a managed (lifecycle) node when asked to be, and starts itself otherwise.

With the parameter ``lifecycle`` false (the default) the node configures and activates itself
while it is built; a failure raises from the constructor, so `run_node` logs one fatal line and
exits 1, as a plain node does. With ``lifecycle`` true it waits, unconfigured, for
``ros2 lifecycle set`` or Nav2's lifecycle_manager (configure, activate; deactivate to pause;
deactivate + cleanup to reset); with ``autostart`` too it configures and activates itself, and a
failure leaves it unconfigured, up, for another try. No bond heartbeat is offered: give the
manager ``bond_timeout: 0.0``.

rclpy's lifecycle (Humble 3.3, Jazzy 7.1) has pitfalls this class closes:

- an exception in a transition callback becomes ERROR without a log line: here every transition
  logs its OdetError as one line (anything else with its traceback) and answers FAILURE, which
  leaves the node in the state it was in, ready for another try;
- a transition request that is not valid in the current state raises inside the change_state
  service callback, which ends the node: here it is refused with a warning;
- lifecycle publishers drop every message unless ``super().on_activate()`` ran: here it always
  runs, and a failed activation deactivates them again.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from lifecycle_msgs.srv import ChangeState
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from odet_ros.errors import OdetError
from odet_ros.nodes.parameters import declare
from odet_ros.runtime.parameters import ParameterSpec

SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE


class ManagedNode(LifecycleNode):
    """Subclasses implement :meth:`configure`, :meth:`activate`, :meth:`deactivate` and
    :meth:`cleanup` (raising OdetError to refuse), and call :meth:`start` at the end of their
    constructor."""

    def __init__(self, name: str, parameters: dict[str, ParameterSpec], **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        declare(self, parameters)
        self.managed = bool(self.get_parameter("lifecycle").value)
        self.transition_error: OdetError | None = None  # why the last transition failed
        self._service_change_state.callback = self._change_state_guarded

    def configure(self) -> None:
        """Parameters checked, resources (model, bag) opened, publishers created."""

    def activate(self) -> None:
        """Subscriptions and timers that do the work created."""

    def deactivate(self) -> None:
        """Subscriptions destroyed; resources kept."""

    def cleanup(self) -> None:
        """Resources freed; back to what the constructor left."""

    @property
    def state(self) -> str:
        """The lifecycle state: unconfigured, inactive, active, finalized."""
        return str(self._state_machine.current_state[1])

    def start(self) -> None:
        """Configure and activate now, unless a lifecycle manager is to do it; raises the
        OdetError that stopped either."""
        if self.managed and not self.get_parameter("autostart").value:
            self.get_logger().info("lifecycle: unconfigured, waiting for configure")
            return
        for trigger in (self.trigger_configure, self.trigger_activate):
            if trigger() != SUCCESS:
                if self.managed:  # autostart: stay up, unconfigured, for another try
                    return
                raise self.transition_error or OdetError(f"{self.get_name()} could not start")

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition("configure", self.configure)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        super().on_activate(state)
        result = self._transition("activate", self.activate)
        if result != SUCCESS:
            super().on_deactivate(state)
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = self._transition("deactivate", self.deactivate)
        super().on_deactivate(state)
        return result

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = self._transition("cleanup", self.cleanup)
        super().on_cleanup(state)
        return result

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """From any state: stop what runs, free what is held (``state`` is the one left)."""
        if state.label == "active":
            self._transition("deactivate", self.deactivate)
        result = self._transition("shutdown", self.cleanup)
        super().on_shutdown(state)
        return result

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Only reached through rclpy itself: free what is held and go back to unconfigured."""
        return self._transition("error recovery", self.cleanup)

    def _transition(self, name: str, step: Callable[[], None]) -> TransitionCallbackReturn:
        try:
            step()
        except OdetError as error:
            self.transition_error = error
            self.get_logger().error(f"{name} failed: {error}")
            return FAILURE
        except Exception as error:
            self.transition_error = OdetError(f"{name} failed: {type(error).__name__}: {error}")
            self.get_logger().error(f"{name} failed:\n{traceback.format_exc()}")
            return FAILURE
        self.transition_error = None
        if self.managed:
            self.get_logger().info(f"lifecycle: {name} done")
        return SUCCESS

    def _change_state_guarded(
        self, request: ChangeState.Request, response: ChangeState.Response
    ) -> ChangeState.Response:
        """rclpy's change_state service, refusing (instead of raising on) an invalid request."""
        try:
            return self._LifecycleNodeMixin__on_change_state(request, response)
        except _rclpy.RCLError as error:
            state = self._state_machine.current_state[1]
            transition = request.transition.label or request.transition.id
            self.get_logger().warning(
                f"lifecycle: {transition!r} is not possible from {state}: {error}"
            )
            response.success = False
            return response
