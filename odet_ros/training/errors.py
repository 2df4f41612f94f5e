"""Errors of training, export and deployment that the user can act on; each names its cause."""

from __future__ import annotations

from odet_ros.errors import OdetError


class TrainingError(OdetError):
    """A dataset, model or setting that training cannot start from."""


class ExportError(OdetError):
    """A model, dataset or format that cannot be exported or checked after export."""


class ToolchainError(ExportError):
    """The packages an export format needs are not installed (or no GPU for TensorRT)."""


class DeployError(OdetError):
    """A bundle that cannot be installed, or that does not load where it was installed."""
