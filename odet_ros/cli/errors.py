"""The errors of the `odet` command line itself."""

from __future__ import annotations

from odet_ros.errors import OdetError


class UsageError(OdetError):
    """Arguments that do not go together; the message says which to give."""
