"""Topic names as camera drivers and image_transport give them: one rule each, for every node.

A topic ending in ``/compressed`` carries sensor_msgs/CompressedImage, one ending in
``/compressedDepth`` a compressed depth image (compressed_depth_image_transport), any other
sensor_msgs/Image; a camera's CameraInfo is ``camera_info`` beside its base topic
(``/cam/image_raw`` -> ``/cam/camera_info``). Relative names stay relative.
"""

from __future__ import annotations

COMPRESSED_SUFFIX = "/compressed"
COMPRESSED_DEPTH_SUFFIX = "/compressedDepth"


def is_compressed(topic: str) -> bool:
    """Whether ``topic`` is image_transport's compressed (JPEG/PNG) image topic."""
    return topic.rstrip("/").endswith(COMPRESSED_SUFFIX)


def is_compressed_depth(topic: str) -> bool:
    """Whether ``topic`` is compressed_depth_image_transport's topic."""
    return topic.rstrip("/").endswith(COMPRESSED_DEPTH_SUFFIX)


def base_topic(topic: str) -> str:
    """The raw image topic of a transport topic: ``/cam/image_raw/compressed`` ->
    ``/cam/image_raw``; a raw topic is its own base."""
    base = topic.rstrip("/")
    for suffix in (COMPRESSED_DEPTH_SUFFIX, COMPRESSED_SUFFIX):
        base = base.removesuffix(suffix)
    return base


def compressed_topic(topic: str) -> str:
    """image_transport's compressed topic of a raw image topic."""
    return base_topic(topic) + COMPRESSED_SUFFIX


def camera_info_beside(topic: str) -> str:
    """``camera_info`` beside an image topic, as drivers publish it:
    ``/cam/aligned_depth_to_color/image_raw[/compressedDepth]`` -> ``.../camera_info``."""
    namespace, _, _ = base_topic(topic).rpartition("/")
    return f"{namespace}/camera_info" if namespace else "camera_info"


def outputs_beside(topic: str) -> str:
    """Where a camera's outputs go: its base topic's namespace, with a trailing slash
    (``/front/image_raw`` -> ``/front/``), as a driver's topics are siblings."""
    namespace, _, _ = base_topic(topic).rpartition("/")
    return f"{namespace}/"
