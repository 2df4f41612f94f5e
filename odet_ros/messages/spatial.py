"""vision_msgs/Detection3DArray and visualization_msgs/MarkerArray from located detections, for
rclpy and rosbags alike (the node and `odet detect` share them, like the 2D builders).

A Detection3D carries the 2D detection's class hypotheses and track id, its box centre and size
in metres, and the box's axes: those of the camera's optical frame, or of the target frame's
rotation of them when a transform is given. The position's uncertainty goes into the pose
covariance: 1% of the range across the view, and along it half the object's depth extent (which
one view cannot see), grown as the depth confidence drops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rosbags.typesys.store import Typestore

from odet_ros.depth.locate import Objects3D
from odet_ros.depth.transform import Transform
from odet_ros.detection.drawing import class_color
from odet_ros.detection.types import Detections
from odet_ros.imaging.buffers import byte_field
from odet_ros.interfaces.protocols import Header, MessageClass
from odet_ros.messages.vision import ClassIdFormat

MARKER_NAMESPACE = "odet"
MARKER_ALPHA = 0.45
TEXT_HEIGHT_M = 0.08
LATERAL_SIGMA = 0.01  # of the range, metres per metre
EMPTY = np.zeros(0, np.uint8)
CUBE, TEXT = 1, 9  # visualization_msgs/Marker types
ADD, DELETE_ALL = 0, 3  # and actions

_NAMES = {
    "Detection3DArray": "vision_msgs/msg/Detection3DArray",
    "Detection3D": "vision_msgs/msg/Detection3D",
    "BoundingBox3D": "vision_msgs/msg/BoundingBox3D",
    "ObjectHypothesisWithPose": "vision_msgs/msg/ObjectHypothesisWithPose",
    "ObjectHypothesis": "vision_msgs/msg/ObjectHypothesis",
    "PoseWithCovariance": "geometry_msgs/msg/PoseWithCovariance",
    "Pose": "geometry_msgs/msg/Pose",
    "Point": "geometry_msgs/msg/Point",
    "Quaternion": "geometry_msgs/msg/Quaternion",
    "Vector3": "geometry_msgs/msg/Vector3",
    "MarkerArray": "visualization_msgs/msg/MarkerArray",
    "Marker": "visualization_msgs/msg/Marker",
    "MeshFile": "visualization_msgs/msg/MeshFile",
    "ColorRGBA": "std_msgs/msg/ColorRGBA",
    "Header": "std_msgs/msg/Header",
    "Duration": "builtin_interfaces/msg/Duration",
    "CompressedImage": "sensor_msgs/msg/CompressedImage",
}


@dataclass(frozen=True)
class SpatialMsgClasses:
    """The message classes the 3D builders instantiate, by short name."""

    classes: dict[str, MessageClass]

    def __getattr__(self, name: str) -> MessageClass:
        try:
            return self.classes[name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def from_typestore(cls, typestore: Typestore) -> SpatialMsgClasses:
        return cls({short: typestore.types[full] for short, full in _NAMES.items()})

    @classmethod
    def from_ros(cls) -> SpatialMsgClasses:
        """Classes of the installed ROS 2 Python message packages (used by the nodes)."""
        import importlib

        found = {}
        for short, full in _NAMES.items():
            package, _, name = full.split("/")
            found[short] = getattr(importlib.import_module(f"{package}.msg"), name)
        return cls(found)


def detections3d_to_msg(
    detections: Detections,
    objects: Objects3D,
    names: Sequence[str],
    header: Header,
    classes: SpatialMsgClasses,
    *,
    class_id_format: ClassIdFormat = "index",
    transform: Transform | None = None,
) -> object:
    """A Detection3DArray of the located detections, in ``header``'s frame (give the target
    frame's header with ``transform``, the camera's otherwise)."""
    c = classes
    centers, orientation = _placed(objects, transform)
    located = np.flatnonzero(objects.located)
    covariances = np.zeros((len(located), 36), np.float64)
    covariances[:, [0, 7, 14]] = _position_variances(objects, orientation)[located]
    rows = zip(
        located.tolist(),
        centers[located].tolist(),
        objects.sizes[located].tolist(),
        detections.scores[located].astype(np.float64).tolist(),
        detections.class_ids[located].tolist(),
        covariances,
        strict=True,
    )
    track = detections.track_ids
    x, y, z, w = orientation
    rotation = c.Quaternion(x=x, y=y, z=z, w=w)  # one for all: the boxes share their axes
    boxes = []
    for i, center, size, score, class_id, covariance in rows:
        label = names[class_id] if class_id_format == "name" else str(class_id)
        pose = c.Pose(position=c.Point(x=center[0], y=center[1], z=center[2]), orientation=rotation)
        boxes.append(
            c.Detection3D(
                header=header,
                results=[
                    c.ObjectHypothesisWithPose(
                        hypothesis=c.ObjectHypothesis(class_id=label, score=score),
                        pose=c.PoseWithCovariance(pose=pose, covariance=covariance),
                    )
                ],
                bbox=c.BoundingBox3D(center=pose, size=c.Vector3(x=size[0], y=size[1], z=size[2])),
                id=str(int(track[i])) if track is not None else "",
            )
        )
    return c.Detection3DArray(header=header, detections=boxes)


def markers_msg(
    detections: Detections,
    objects: Objects3D,
    names: Sequence[str],
    header: Header,
    classes: SpatialMsgClasses,
    *,
    transform: Transform | None = None,
    lifetime_s: float = 1.0,
) -> object:
    """A MarkerArray for rviz: a DELETEALL (the previous frame's boxes go), then per located
    detection a translucent box in its class colour and a label with its distance."""
    c = classes
    centers, orientation = _placed(objects, transform)
    sec, nanosec = divmod(round(lifetime_s * 1e9), 1_000_000_000)
    lifetime = c.Duration(sec=int(sec), nanosec=int(nanosec))
    origin = _pose(c, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    markers = [_marker(c, header, 0, CUBE, origin, lifetime=lifetime, action=DELETE_ALL)]
    for number, i in enumerate(np.flatnonzero(objects.located).tolist()):
        class_id = int(detections.class_ids[i])
        b, g, r = class_color(class_id)
        colour = (r / 255.0, g / 255.0, b / 255.0)
        pose = _pose(c, centers[i].tolist(), orientation)
        size = tuple(float(v) for v in objects.sizes[i])
        markers.append(
            _marker(c, header, 2 * number + 1, CUBE, pose, lifetime=lifetime, scale=size,
                    rgba=(*colour, MARKER_ALPHA))
        )  # fmt: skip
        label = f"{names[class_id]} {detections.scores[i]:.2f} {objects.centers[i, 2]:.2f} m"
        above = centers[i] - _up(orientation) * (size[1] / 2 + TEXT_HEIGHT_M)
        markers.append(
            _marker(c, header, 2 * number + 2, TEXT, _pose(c, above.tolist(), orientation),
                    lifetime=lifetime, scale=(0.0, 0.0, TEXT_HEIGHT_M), rgba=(*colour, 1.0),
                    text=label)
        )  # fmt: skip
    return c.MarkerArray(markers=markers)


def _placed(
    objects: Objects3D, transform: Transform | None
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Centres in the output frame, and the orientation of the boxes' axes there."""
    if transform is None:
        return objects.centers, (0.0, 0.0, 0.0, 1.0)
    return transform.apply(objects.centers), transform.rotation


def _up(orientation: tuple[float, float, float, float]) -> np.ndarray:
    """The optical frame's y axis (down in the image) in the output frame."""
    matrix: np.ndarray = Transform(rotation=orientation).matrix()
    return matrix[:, 1]


def _position_variances(
    objects: Objects3D, orientation: tuple[float, float, float, float]
) -> np.ndarray:
    """(N, 3) variances of x, y, z in the output frame: across the view 1% of the range, along
    it half the object's unseen depth extent, grown as the depth confidence drops."""
    lateral = (LATERAL_SIGMA * objects.centers[:, 2]) ** 2
    along = (objects.sizes[:, 2] / 2 / np.maximum(objects.confidence, 0.1)) ** 2
    camera = np.stack([lateral, lateral, along], axis=1)  # (N, 3), diagonal in the camera frame
    rotation = Transform(rotation=orientation).matrix()
    # diag(R diag(v) R^T) = (R * R) v
    variances: np.ndarray = camera @ (rotation * rotation).T
    return variances


def _pose(c: SpatialMsgClasses, center: Sequence[float], orientation: tuple[float, ...]) -> object:
    x, y, z, w = orientation
    return c.Pose(
        position=c.Point(x=float(center[0]), y=float(center[1]), z=float(center[2])),
        orientation=c.Quaternion(x=x, y=y, z=z, w=w),
    )


def _marker(
    c: SpatialMsgClasses,
    header: Header,
    marker_id: int,
    kind: int,
    pose: object,
    *,
    lifetime: object,
    scale: tuple[float, ...] = (0.0, 0.0, 0.0),
    rgba: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0),
    text: str = "",
    action: int = ADD,
) -> object:
    """Every field given (rosbags classes have no defaults)."""
    return c.Marker(
        header=header,
        ns=MARKER_NAMESPACE,
        id=marker_id,
        type=kind,
        action=action,
        pose=pose,
        scale=c.Vector3(x=scale[0], y=scale[1], z=scale[2]),
        color=c.ColorRGBA(r=rgba[0], g=rgba[1], b=rgba[2], a=rgba[3]),
        lifetime=lifetime,
        frame_locked=False,
        points=[],
        colors=[],
        texture_resource="",
        texture=c.CompressedImage(
            header=header, format="", data=byte_field(c.CompressedImage, EMPTY)
        ),
        uv_coordinates=[],
        text=text,
        mesh_resource="",
        mesh_file=c.MeshFile(filename="", data=byte_field(c.MeshFile, EMPTY)),
        mesh_use_embedded_materials=False,
    )
