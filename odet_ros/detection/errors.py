"""The errors detection reports for problems the user can fix."""

from __future__ import annotations

from odet_ros.errors import OdetError


class ModelError(OdetError):
    """A model or bundle that cannot be found, read, loaded or decoded; the message names it."""


class SettingError(OdetError, ValueError):
    """A detector setting out of range or unknown; the message names the parameter."""


class MetadataError(ValueError):
    """Embedded metadata that is present but cannot be read (the detector names the file)."""


class OutputLayoutError(ValueError):
    """The output tensor does not fit the class count or the declared format."""
