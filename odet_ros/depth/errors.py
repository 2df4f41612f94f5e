"""The errors of the depth step."""

from odet_ros.errors import OdetError


class DepthError(OdetError):
    """A depth image or camera model that cannot be used; the message names the topic or field."""
