"""The errors `odet demo` reports for a run it cannot start."""

from __future__ import annotations

from odet_ros.errors import OdetError


class DemoError(OdetError):
    """An output folder or a step the demo cannot use; the message names it."""
