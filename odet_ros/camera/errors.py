"""The errors of a camera source; a node may recover from a drop, not from an end."""

from odet_ros.errors import OdetError


class SourceDroppedError(OdetError):
    """The source stopped giving frames; it may come back."""


class SourceEndedError(OdetError):
    """A finite source has no frames left."""
