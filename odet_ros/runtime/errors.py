"""The errors a live node's settings can raise, before any frame is processed."""

from __future__ import annotations

from odet_ros.errors import OdetError


class ParameterError(OdetError, ValueError):
    """A node parameter with a value the node cannot run with; the message names it."""
