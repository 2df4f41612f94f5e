"""Topic names of a captured camera, following image_transport's conventions.

An input topic ending in ``/compressed`` carries sensor_msgs/CompressedImage, any other
sensor_msgs/Image. The bag stores a camera's frames on its base topic (raw) or on
``<base>/compressed`` (JPEG), and its CameraInfo on ``camera_info`` next to the base topic, as
camera drivers publish it (``/cam/image_raw`` -> ``/cam/camera_info``).
"""

from __future__ import annotations

from odet_ros.errors import OdetError

COMPRESSED_SUFFIX = "/compressed"
IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"


def is_compressed(topic: str) -> bool:
    return topic.endswith(COMPRESSED_SUFFIX)


def base_topic(topic: str) -> str:
    """The raw image topic of a camera: ``/cam/image_raw/compressed`` -> ``/cam/image_raw``."""
    return topic[: -len(COMPRESSED_SUFFIX)] if is_compressed(topic) else topic


def camera_info_topic(topic: str) -> str:
    """``camera_info`` beside the camera's base topic; relative names stay relative."""
    namespace, _, _ = base_topic(topic).rpartition("/")
    return f"{namespace}/camera_info" if namespace else "camera_info"


def stored_topic(topic: str, store_compressed: bool) -> tuple[str, str]:
    """(topic, message type) under which a camera's kept frames go into the bag."""
    base = base_topic(topic)
    if store_compressed:
        return base + COMPRESSED_SUFFIX, COMPRESSED_TYPE
    return base, IMAGE_TYPE


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
