"""A live Label Studio server: pushing a dataset's images and pre-labels to a project, pulling
its annotations back (the file-based round trip is in :mod:`odet_ros.labels.labelstudio`)."""

from odet_ros.labelstudio.client import LabelStudio
from odet_ros.labelstudio.errors import LabelStudioError
from odet_ros.labelstudio.pull import PullReport, pull_labels
from odet_ros.labelstudio.push import PushReport, push_dataset

__all__ = [
    "LabelStudio",
    "LabelStudioError",
    "PullReport",
    "PushReport",
    "pull_labels",
    "push_dataset",
]
