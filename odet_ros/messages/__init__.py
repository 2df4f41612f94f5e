"""vision_msgs built from core detections: one code path for the live node and for bags."""

from odet_ros.messages.vision import (
    VisionMsgClasses,
    detections_from_msg,
    detections_to_msg,
    label_info_msg,
)

__all__ = [
    "VisionMsgClasses",
    "detections_from_msg",
    "detections_to_msg",
    "label_info_msg",
]
