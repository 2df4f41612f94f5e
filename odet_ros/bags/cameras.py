"""Which topic of a bag is its camera: the one the user names, or the only one there is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from odet_ros.bags.errors import BagError
from odet_ros.bags.reader import BagTopic

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


def camera_topic(topics: Mapping[str, BagTopic], bag: Path, requested: str | None) -> str:
    """The image topic to run on: the one requested, or the bag's only (raw first) camera image
    topic; depth topics (named ``depth``, as every RGB-D driver names them) are left out."""
    images = sorted(name for name, topic in topics.items() if topic.msgtype in IMAGE_TYPES)
    if requested is not None:
        if requested not in images:
            raise BagError(
                f"{bag}: no image topic {requested!r}; image topics: {', '.join(images) or 'none'}"
            )
        return requested
    images = [name for name in images if "depth" not in name.lower()]
    raw = [name for name in images if topics[name].msgtype == IMAGE_TYPES[0]]
    if len(raw) == 1 or len(images) == 1:
        return (raw or images)[0]
    raise BagError(
        f"{bag}: {'several' if images else 'no'} image topics"
        f"{': ' + ', '.join(images) if images else ''}; choose one with --topic"
    )
