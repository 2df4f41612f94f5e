"""The instance mask image that goes beside a frame's Detection2DArray.

vision_msgs has no instance-mask type (semantic segmentation is an Image plus LabelInfo; instance
masks are an open question there). The convention other stacks use, and this package: one
``sensor_msgs/Image`` per frame, ``mono16``, the source image's header (stamp and frame) and
size, each pixel the index of its detection in that frame's ``Detection2DArray.detections`` + 1,
0 where no detection is. It indexes aligned depth directly and compresses losslessly (PNG).
Where two masks overlap, the pixel goes to the detection listed first (the higher score).
"""

from __future__ import annotations

import numpy as np

from odet_ros.detection.types import Detections
from odet_ros.imaging import numpy_to_image
from odet_ros.interfaces.protocols import Header, ImageMessage, MessageClass

ENCODING = "mono16"


def instance_masks_msg(
    detections: Detections,
    image_hw: tuple[int, int],
    header: Header,
    image_type: MessageClass,
) -> ImageMessage:
    """The frame's mask image (all 0 where the detections carry no masks)."""
    if detections.masks is None:
        labels = np.zeros(image_hw, np.uint16)
    else:
        if detections.masks.image_hw != tuple(image_hw):
            raise ValueError(
                f"masks of a {detections.masks.image_hw} image for a frame of {image_hw}"
            )
        labels = detections.masks.label_image()
    message: ImageMessage = numpy_to_image(labels, ENCODING, header, image_type)
    return message
