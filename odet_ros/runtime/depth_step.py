"""The detector's 3D step without ROS: a frame's detections, the depth frame paired with it and
the cameras' models in; Detection3DArray and MarkerArray out. The live node and `odet detect
--depth-topic` both run it, like :class:`odet_ros.runtime.FrameDetector` for the 2D part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from odet_ros.depth import (
    DepthError,
    Intrinsics,
    LocateSettings,
    Objects3D,
    Transform,
    depth_image,
    locate_objects,
)
from odet_ros.detection.types import Detections
from odet_ros.interfaces.protocols import (
    CameraInfoMessage,
    CompressedImageMessage,
    Header,
    ImageMessage,
)
from odet_ros.messages.spatial import SpatialMsgClasses, detections3d_to_msg, markers_msg
from odet_ros.messages.vision import ClassIdFormat


@dataclass(frozen=True)
class DepthResult:
    """One frame's 3D output: what was located and its Detection3DArray; the MarkerArray is
    built on request (a node builds it only while rviz or someone else subscribes)."""

    objects: Objects3D
    detections: object  # Detection3DArray
    _inputs: tuple[Detections, Sequence[str], Header, SpatialMsgClasses, Transform | None]

    def markers(self) -> object:
        """The MarkerArray of the located detections."""
        detections, names, header, classes, transform = self._inputs
        return markers_msg(detections, self.objects, names, header, classes, transform=transform)


class DepthStep:
    """Locates a frame's detections in its paired depth frame.

    ``set_camera_info`` takes the colour camera's CameraInfo (the depth is aligned to it),
    ``set_depth_info`` the depth image's own, needed only when its size differs.
    ``pop_warning`` says, once per reason, why the depth looks unaligned (another frame or
    camera model): the 3D positions are then garbage, which the caller should log.
    """

    def __init__(self, classes: SpatialMsgClasses, settings: LocateSettings | None = None) -> None:
        self.classes = classes
        self.settings = settings or LocateSettings()
        self._color: Intrinsics | None = None
        self._depth: Intrinsics | None = None
        self._warnings: list[str] = []
        self._warned: set[str] = set()

    def pop_warning(self) -> str | None:
        return self._warnings.pop(0) if self._warnings else None

    def set_camera_info(self, msg: CameraInfoMessage) -> None:
        self._color = Intrinsics.from_camera_info(msg)

    def set_depth_info(self, msg: CameraInfoMessage) -> None:
        self._depth = Intrinsics.from_camera_info(msg)

    def process(
        self,
        detections: Detections,
        names: Sequence[str],
        image_header: Header,
        depth_msg: ImageMessage | CompressedImageMessage,
        *,
        class_id_format: ClassIdFormat = "index",
        output_header: Header | None = None,
        transform: Transform | None = None,
    ) -> DepthResult:
        """``output_header``/``transform``: the target frame's header and the transform into it
        (default: the colour image's header, its optical frame). Raises DepthError naming what
        is missing or wrong."""
        if self._color is None:
            raise DepthError("no CameraInfo of the colour camera yet: 3D positions need it")
        depth = depth_image(depth_msg)
        depth_camera = self._depth_camera(depth.shape[1], depth.shape[0])
        self._check_alignment(image_header, depth_msg.header, depth_camera)
        objects = locate_objects(
            detections.xyxy, depth, self._color, depth_camera, self.settings, masks=detections.masks
        )
        header = output_header or image_header
        c = self.classes
        return DepthResult(
            objects,
            detections3d_to_msg(detections, objects, names, header, c,
                                class_id_format=class_id_format, transform=transform),
            (detections, names, header, c, transform),
        )  # fmt: skip

    def _depth_camera(self, width: int, height: int) -> Intrinsics:
        assert self._color is not None
        if (width, height) == (self._color.width, self._color.height):
            return self._color
        if self._depth is None or (self._depth.width, self._depth.height) != (width, height):
            raise DepthError(
                f"the depth image is {width}x{height}, the colour image"
                f" {self._color.width}x{self._color.height}: its own CameraInfo is needed"
                " (depth_camera_info_topic)"
            )
        return self._depth

    def _check_alignment(self, image: Header, depth: Header, depth_camera: Intrinsics) -> None:
        assert self._color is not None
        reasons = []
        if image.frame_id and depth.frame_id and image.frame_id != depth.frame_id:
            reasons.append(
                f"depth is in frame {depth.frame_id!r}, colour in {image.frame_id!r}"
                " (aligned depth carries the colour frame)"
            )
        mismatch = self._color.misalignment(depth_camera)
        if mismatch:
            reasons.append(mismatch)
        for reason in reasons:
            if reason not in self._warned:
                self._warned.add(reason)
                self._warnings.append(
                    f"the depth image does not look aligned to the colour image: {reason};"
                    " use the driver's depth aligned to colour (RealSense:"
                    " aligned_depth_to_color/image_raw)"
                )
