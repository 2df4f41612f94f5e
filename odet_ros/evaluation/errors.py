"""The errors of evaluation."""

from odet_ros.errors import OdetError


class EvaluationError(OdetError):
    """A model and dataset that cannot be evaluated together; the message names both."""
