"""The errors offline detection reports for inputs the user can fix."""

from __future__ import annotations

from odet_ros.errors import OdetError


class SourceError(OdetError):
    """A detection source (image, folder, video, bag) that cannot be read; the message names it."""
