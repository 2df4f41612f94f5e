"""Label files of the labelling tools: Ultralytics YOLO, COCO, Pascal VOC, CVAT, Label Studio.

Every reader gives a :class:`LabelSet` (boxes normalised to their image, classes by name) and
every writer takes one, so any format converts to any other through it.
"""

from odet_ros.labels.errors import LabelFormatError
from odet_ros.labels.formats import FORMATS, read_labels, write_labels
from odet_ros.labels.model import ImageLabels, LabelSet

__all__ = [
    "FORMATS",
    "ImageLabels",
    "LabelFormatError",
    "LabelSet",
    "read_labels",
    "write_labels",
]
