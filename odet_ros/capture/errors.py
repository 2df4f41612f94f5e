"""The errors of a capture session."""

from odet_ros.errors import OdetError


class LowDiskError(OdetError):
    """Free disk fell under the configured minimum; the session was closed cleanly."""
