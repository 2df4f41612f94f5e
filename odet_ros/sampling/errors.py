"""The errors frame sampling reports for settings and frames it cannot use."""

from __future__ import annotations

from odet_ros.errors import OdetError


class SamplingError(OdetError):
    """A sampler setting out of range, or a frame the quality checks cannot read."""
