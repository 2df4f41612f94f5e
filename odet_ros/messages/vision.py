"""Build vision_msgs 4.x messages from :class:`Detections`, for rclpy and rosbags alike.

rclpy's generated classes and rosbags' dataclasses both take every field as a keyword argument,
so the builders receive the classes to use (:class:`VisionMsgClasses`) and give every field
explicitly. Values go in as Python floats and ints (``tolist``): rclpy's setters reject numpy
float32 scalars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from rosbags.typesys.store import Typestore

from odet_ros.detection.types import Detections
from odet_ros.interfaces.protocols import Header, MessageClass

ClassIdFormat = Literal["index", "name"]
CLASS_ID_FORMATS: tuple[ClassIdFormat, ...] = ("index", "name")

_VISION = "vision_msgs/msg/"
_GEOMETRY = "geometry_msgs/msg/"


@dataclass(frozen=True)
class VisionMsgClasses:
    """The message classes the builders instantiate; ``LabelInfo`` is None on vision_msgs 4.0."""

    Detection2DArray: MessageClass
    Detection2D: MessageClass
    ObjectHypothesisWithPose: MessageClass
    ObjectHypothesis: MessageClass
    BoundingBox2D: MessageClass
    Pose2D: MessageClass
    Point2D: MessageClass
    PoseWithCovariance: MessageClass
    Pose: MessageClass
    Point: MessageClass
    Quaternion: MessageClass
    LabelInfo: MessageClass | None
    VisionClass: MessageClass | None

    @classmethod
    def from_typestore(cls, typestore: Typestore) -> VisionMsgClasses:
        """Classes of a rosbags typestore that has vision_msgs registered."""
        types = typestore.types
        label_info = types.get(_VISION + "LabelInfo")
        return cls(
            **{name: types[_VISION + name] for name in _VISION_NAMES},
            **{name: types[_GEOMETRY + name] for name in _GEOMETRY_NAMES},
            LabelInfo=label_info,
            VisionClass=types.get(_VISION + "VisionClass") if label_info else None,
        )

    @classmethod
    def from_ros(cls) -> VisionMsgClasses:
        """Classes of the installed ROS 2 Python message packages (used by the nodes)."""
        import geometry_msgs.msg as geometry
        import vision_msgs.msg as vision

        return cls(
            **{name: getattr(vision, name) for name in _VISION_NAMES},
            **{name: getattr(geometry, name) for name in _GEOMETRY_NAMES},
            LabelInfo=getattr(vision, "LabelInfo", None),
            VisionClass=getattr(vision, "VisionClass", None),
        )


_VISION_NAMES = (
    "Detection2DArray",
    "Detection2D",
    "ObjectHypothesisWithPose",
    "ObjectHypothesis",
    "BoundingBox2D",
    "Pose2D",
    "Point2D",
)
_GEOMETRY_NAMES = ("PoseWithCovariance", "Pose", "Point", "Quaternion")


def detections_to_msg(
    detections: Detections,
    names: Sequence[str],
    header: Header,
    classes: VisionMsgClasses,
    class_id_format: ClassIdFormat = "index",
) -> Any:
    """A ``Detection2DArray`` carrying ``header`` unchanged, boxes in source-image pixels.

    ``class_id`` is the class index as a string (matching ``VisionClass.class_id`` in LabelInfo)
    or, with ``class_id_format="name"``, the class name. ``Detection2D.id`` is the track id when
    the detections carry one, else empty. ``results`` holds the best class, then the runner-up
    where the model gives one (vision_msgs: classes not listed score 0).
    """
    if class_id_format not in CLASS_ID_FORMATS:
        raise ValueError(f"class_id_format must be 'index' or 'name', not {class_id_format!r}")
    c = classes
    xyxy = detections.xyxy.astype(np.float64)
    centers = ((xyxy[:, :2] + xyxy[:, 2:]) / 2).tolist()
    sizes = (xyxy[:, 2:] - xyxy[:, :2]).tolist()
    scores = detections.scores.astype(np.float64).tolist()
    class_ids = detections.class_ids.tolist()

    def label(class_id: int) -> str:
        return names[class_id] if class_id_format == "name" else str(class_id)

    track_ids = (
        map(str, detections.track_ids.tolist())
        if detections.track_ids is not None
        else [""] * len(scores)
    )
    no_pose = c.PoseWithCovariance(
        pose=c.Pose(
            position=c.Point(x=0.0, y=0.0, z=0.0),
            orientation=c.Quaternion(x=0.0, y=0.0, z=0.0, w=1.0),
        ),
        covariance=np.zeros(36, np.float64),
    )

    def hypothesis(class_id: int, score: float) -> Any:
        return c.ObjectHypothesisWithPose(
            hypothesis=c.ObjectHypothesis(class_id=label(class_id), score=score), pose=no_pose
        )

    runner_up = detections.runner_up
    seconds: Sequence[tuple[int, float] | None] = (
        [None] * len(scores)
        if runner_up is None
        else list(zip(runner_up[0].tolist(), runner_up[1].astype(np.float64).tolist(), strict=True))
    )
    boxes = [
        c.Detection2D(
            header=header,
            results=[hypothesis(class_id, score)]
            + ([] if second is None else [hypothesis(*second)]),
            bbox=c.BoundingBox2D(
                center=c.Pose2D(position=c.Point2D(x=cx, y=cy), theta=0.0),
                size_x=w,
                size_y=h,
            ),
            id=track_id,
        )
        for (cx, cy), (w, h), score, class_id, second, track_id in zip(
            centers, sizes, scores, class_ids, seconds, track_ids, strict=True
        )
    ]
    return c.Detection2DArray(header=header, detections=boxes)


def label_info_msg(
    names: Sequence[str], header: Header, classes: VisionMsgClasses, threshold: float = 0.0
) -> Any:
    """A ``LabelInfo`` mapping each class index to its name (vision_msgs >= 4.1 only)."""
    if classes.LabelInfo is None or classes.VisionClass is None:
        raise RuntimeError("this vision_msgs has no LabelInfo (it appeared in vision_msgs 4.1)")
    class_map = [classes.VisionClass(class_id=i, class_name=n) for i, n in enumerate(names)]
    return classes.LabelInfo(header=header, class_map=class_map, threshold=float(threshold))


def detections_from_msg(msg: Any, names: Sequence[str] = ()) -> Detections:
    """The inverse of :func:`detections_to_msg`: the best hypothesis of each ``Detection2D``,
    and the runner-up when every box has one.

    ``class_id`` strings are read as indices, or looked up in ``names`` when they are names.
    """
    index = {name: i for i, name in enumerate(names)}

    def class_index(label: str) -> int:
        return int(label) if label.lstrip("-").isdigit() else index.get(label, -1)

    rows, scores, class_ids, track_ids = [], [], [], []
    seconds: list[tuple[int, float] | None] = []
    for det in msg.detections:
        ranked = sorted(det.results, key=lambda r: r.hypothesis.score, reverse=True)
        if not ranked:
            continue
        class_ids.append(class_index(ranked[0].hypothesis.class_id))
        scores.append(ranked[0].hypothesis.score)
        seconds.append(
            (class_index(ranked[1].hypothesis.class_id), ranked[1].hypothesis.score)
            if len(ranked) > 1
            else None
        )
        center, w, h = det.bbox.center.position, det.bbox.size_x, det.bbox.size_y
        rows.append((center.x - w / 2, center.y - h / 2, center.x + w / 2, center.y + h / 2))
        track_ids.append(int(det.id) if det.id.isdigit() else -1)
    has_tracks = any(t >= 0 for t in track_ids)
    complete = [s for s in seconds if s is not None]
    has_runner_up = bool(complete) and len(complete) == len(seconds)
    return Detections.from_arrays(
        np.array(rows, np.float32).reshape(-1, 4),
        np.array(scores, np.float32),
        np.array(class_ids, np.int64),
        np.array(track_ids, np.int64) if has_tracks else None,
        runner_up=(
            (np.array([c for c, _ in complete]), np.array([s for _, s in complete]))
            if has_runner_up
            else None
        ),
    )
