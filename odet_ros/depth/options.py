"""Where a camera's depth comes from, and how it is used: one description for the node's
parameters, `odet detect --depth-topic` and their defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from odet_ros.depth.locate import LocateSettings
from odet_ros.interfaces.topics import camera_info_beside


@dataclass(frozen=True)
class DepthOptions:
    """Where a camera's depth comes from and how it is used: the aligned depth topic, the colour
    camera's CameraInfo (empty: beside the image topic), the depth image's own (empty: beside
    the depth topic), the most seconds between paired stamps, the tf2 frame of the output
    (empty: the camera's optical frame). The node, `odet detect` and their defaults share it."""

    depth_topic: str
    camera_info_topic: str = ""
    depth_camera_info_topic: str = ""
    tolerance_s: float = 0.05
    target_frame: str = ""
    settings: LocateSettings = field(default_factory=LocateSettings)

    def with_topics(self, resolve: Callable[[str], str]) -> DepthOptions:
        """The options with each topic given resolved (a node's namespace and remappings)."""
        return replace(
            self,
            depth_topic=resolve(self.depth_topic),
            camera_info_topic=resolve(self.camera_info_topic) if self.camera_info_topic else "",
            depth_camera_info_topic=(
                resolve(self.depth_camera_info_topic) if self.depth_camera_info_topic else ""
            ),
        )

    def info_topics(self, image_topic: str) -> tuple[str, str]:
        """(colour CameraInfo topic, depth CameraInfo topic) of a camera."""
        return (
            self.camera_info_topic or camera_info_beside(image_topic),
            self.depth_camera_info_topic or camera_info_beside(self.depth_topic),
        )
