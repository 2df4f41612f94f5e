"""foxglove_msgs/ImageAnnotations from detections: boxes Foxglove's Image panel draws over the
camera image, for rclpy and rosbags alike (the node and `odet detect` share it).

Foxglove does not draw vision_msgs; its Image panel draws ImageAnnotations whose ``timestamp``
equals the image's stamp ("sync annotations"). Each detection is a closed polygon (LINE_LOOP) in
its class's colour and a label (``name score``, ``#track`` when tracked), the same colours and
text as the annotated image; a segmentation model's detection adds its mask's outline (a
LINE_LOOP per part, thicker than its box). Pixel coordinates have the top-left corner of the
top-left pixel as origin, as Foxglove's schema says, which is the convention of our boxes and
outlines too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rosbags.typesys.store import Typestore

from odet_ros.detection.drawing import class_color, detection_labels
from odet_ros.detection.types import Detections
from odet_ros.interfaces.protocols import Header, MessageClass

ANNOTATIONS_TYPE = "foxglove_msgs/msg/ImageAnnotations"
LINE_LOOP = 2  # foxglove_msgs/PointsAnnotation.type
BOX_THICKNESS = 2.0
OUTLINE_THICKNESS = 3.0
FONT_SIZE = 12.0
_NAMES = ("ImageAnnotations", "PointsAnnotation", "TextAnnotation", "Point2", "Color")


@dataclass(frozen=True)
class FoxgloveMsgClasses:
    """The message classes the builder instantiates."""

    ImageAnnotations: MessageClass
    PointsAnnotation: MessageClass
    TextAnnotation: MessageClass
    Point2: MessageClass
    Color: MessageClass

    @classmethod
    def from_typestore(cls, typestore: Typestore) -> FoxgloveMsgClasses:
        """Classes of a rosbags typestore with foxglove_msgs registered (odet's own is)."""
        return cls(**{name: typestore.types[f"foxglove_msgs/msg/{name}"] for name in _NAMES})

    @classmethod
    def from_ros(cls) -> FoxgloveMsgClasses | None:
        """Classes of the installed foxglove_msgs (rosdep key foxglove_msgs), None without it:
        the package is optional on a robot."""
        try:
            import foxglove_msgs.msg as foxglove
        except ImportError:
            return None
        return cls(**{name: getattr(foxglove, name) for name in _NAMES})


def image_annotations_msg(
    detections: Detections, names: Sequence[str], header: Header, classes: FoxgloveMsgClasses
) -> Any:
    """The ImageAnnotations of one frame, stamped with its image's stamp."""
    c = classes
    transparent = c.Color(r=0.0, g=0.0, b=0.0, a=0.0)
    white = c.Color(r=1.0, g=1.0, b=1.0, a=1.0)
    boxes, texts = [], []
    labels = detection_labels(detections, names)
    masks = detections.masks
    for index, ((x1, y1, x2, y2), class_id, label) in enumerate(
        zip(
            detections.xyxy.astype(float).tolist(),
            detections.class_ids.tolist(),
            labels,
            strict=True,
        )
    ):
        red, green, blue = (v / 255.0 for v in class_color(int(class_id), rgb=True))
        colour = c.Color(r=red, g=green, b=blue, a=1.0)
        corners = ((x1, y1), (x2, y1), (x2, y2), (x1, y2))
        boxes.append(
            c.PointsAnnotation(
                timestamp=header.stamp,
                type=LINE_LOOP,
                points=[c.Point2(x=x, y=y) for x, y in corners],
                outline_color=colour,
                outline_colors=[],
                fill_color=transparent,
                thickness=BOX_THICKNESS,
            )
        )
        for part in masks.outline(index) if masks is not None else []:
            boxes.append(
                c.PointsAnnotation(
                    timestamp=header.stamp,
                    type=LINE_LOOP,
                    points=[c.Point2(x=float(x), y=float(y)) for x, y in part.tolist()],
                    outline_color=colour,
                    outline_colors=[],
                    fill_color=transparent,
                    thickness=OUTLINE_THICKNESS,
                )
            )
        above = y1 - BOX_THICKNESS  # the label's baseline: above the box, or inside at the top
        texts.append(
            c.TextAnnotation(
                timestamp=header.stamp,
                position=c.Point2(x=x1, y=above if above >= FONT_SIZE else y1 + FONT_SIZE),
                text=label,
                font_size=FONT_SIZE,
                text_color=white,
                background_color=colour,
            )
        )
    return c.ImageAnnotations(circles=[], points=boxes, texts=texts)
