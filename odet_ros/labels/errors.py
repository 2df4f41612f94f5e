"""The error of the label layer: a label file, archive or class mapping that cannot be used."""

from odet_ros.errors import OdetError


class LabelFormatError(OdetError):
    """A label file or archive that does not follow its format; the message names the file."""
