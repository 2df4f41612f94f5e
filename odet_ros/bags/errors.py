"""The error of the bag layer: a bag that cannot be read or written, named in the message."""

from odet_ros.errors import OdetError


class BagError(OdetError):
    """A bag path, topic or message that cannot be read or written; the message names it."""
