"""The one error the imaging layer raises for bad messages, arrays or arguments."""

from odet_ros.errors import OdetError


class ImageConversionError(OdetError, ValueError):
    """An image could not be converted; the message names the encoding and sizes at fault."""
