"""Where a captured camera's frames go in the bag, by image_transport's naming
(:mod:`odet_ros.interfaces.topics`): its base topic (raw) or ``<base>/compressed`` (JPEG), its
CameraInfo on ``camera_info`` beside the base topic.
"""

from __future__ import annotations

from odet_ros.errors import OdetError
from odet_ros.interfaces.topics import base_topic, compressed_topic

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"


def stored_topic(topic: str, store_compressed: bool) -> tuple[str, str]:
    """(topic, message type) under which a camera's kept frames go into the bag."""
    if store_compressed:
        return compressed_topic(topic), COMPRESSED_TYPE
    return base_topic(topic), IMAGE_TYPE


def check_topics(topics: list[str]) -> list[str]:
    """The image topics to capture: at least one, no blanks, no camera named twice."""
    cleaned = [topic.strip() for topic in topics]
    if not cleaned or any(not topic for topic in cleaned):
        raise OdetError(f"image_topics must list at least one non-empty topic, got {topics}")
    bases = [base_topic(topic) for topic in cleaned]
    repeated = sorted({base for base in bases if bases.count(base) > 1})
    if repeated:
        raise OdetError(f"image_topics names the same camera twice: {', '.join(repeated)}")
    return cleaned
