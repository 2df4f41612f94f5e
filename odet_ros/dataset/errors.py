"""The errors a dataset reports for problems the user can fix."""

from __future__ import annotations

from odet_ros.errors import OdetError
from odet_ros.imaging.errors import ImageConversionError


class DatasetError(OdetError):
    """A dataset folder or one of its files that cannot be used; the message names it (and the
    line, for a label file)."""


class NoColourError(ImageConversionError):
    """The encoding is not a picture (depth, generic matrices): such topics are not exported."""
