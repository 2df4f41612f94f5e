"""The errors the model-driven selection reports: settings, records and summaries it cannot use."""

from __future__ import annotations

from odet_ros.errors import OdetError


class SelectionError(OdetError):
    """A selection setting out of range, or a record, bag or training-views file it cannot read;
    the message names the setting or the file."""
