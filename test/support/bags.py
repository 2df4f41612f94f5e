"""Sample messages of every type odet reads and writes (vision_msgs included), a bag of them, and
a field-by-field comparison with another decoder: for the bag tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from odet_ros.bags import BagWriter, make_typestore

TYPESTORE = make_typestore("humble")
T = TYPESTORE.types
IMAGE, COMPRESSED, CAMERA_INFO = (
    "sensor_msgs/msg/Image",
    "sensor_msgs/msg/CompressedImage",
    "sensor_msgs/msg/CameraInfo",
)
DETECTIONS, LABEL_INFO = "vision_msgs/msg/Detection2DArray", "vision_msgs/msg/LabelInfo"
SECOND = 1_000_000_000


def header(stamp_ns: int, frame_id: str = "camera_optical") -> object:
    stamp = T["builtin_interfaces/msg/Time"](sec=stamp_ns // SECOND, nanosec=stamp_ns % SECOND)
    return T["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def image(stamp_ns: int, height: int = 12, width: int = 16, pad: int = 4, seed: int = 0) -> object:
    """A bgr8 Image with padded rows (step > 3 * width)."""
    step = width * 3 + pad
    data = np.random.default_rng(seed).integers(0, 256, step * height, dtype=np.uint8)
    return T[IMAGE](
        header=header(stamp_ns),
        height=height,
        width=width,
        encoding="bgr8",
        is_bigendian=0,
        step=step,
        data=data,
    )


def compressed_image(stamp_ns: int, height: int = 24, width: int = 40) -> object:
    pixels = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
    ok, jpeg = cv2.imencode(".jpg", pixels)
    assert ok
    return T[COMPRESSED](
        header=header(stamp_ns), format="bgr8; jpeg compressed bgr8", data=jpeg.ravel()
    )


def camera_info(stamp_ns: int) -> object:
    roi = T["sensor_msgs/msg/RegionOfInterest"](
        x_offset=1, y_offset=2, height=10, width=12, do_rectify=True
    )
    return T[CAMERA_INFO](
        header=header(stamp_ns),
        height=12,
        width=16,
        distortion_model="plumb_bob",
        d=np.array([0.125, -0.25, 0.0, 0.001, 0.5]),
        k=np.arange(9, dtype=np.float64),
        r=np.eye(3).ravel(),
        p=np.arange(12, dtype=np.float64) / 4,
        binning_x=1,
        binning_y=2,
        roi=roi,
    )


def detections(stamp_ns: int) -> object:
    """Two boxes, with class ids as strings, a track id and a non-zero pose covariance."""
    g = "geometry_msgs/msg/"
    boxes = []
    for index, (cx, cy, class_id, score) in enumerate(
        [(5.5, 6.25, "0", 0.875), (10.0, 3.0, "2", 0.5)]
    ):
        pose = T[f"{g}PoseWithCovariance"](
            pose=T[f"{g}Pose"](
                position=T[f"{g}Point"](x=cx, y=cy, z=0.0),
                orientation=T[f"{g}Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
            ),
            covariance=np.linspace(0, 1, 36),
        )
        result = T["vision_msgs/msg/ObjectHypothesisWithPose"](
            hypothesis=T["vision_msgs/msg/ObjectHypothesis"](class_id=class_id, score=score),
            pose=pose,
        )
        center = T["vision_msgs/msg/Pose2D"](
            position=T["vision_msgs/msg/Point2D"](x=cx, y=cy), theta=0.0
        )
        bbox = T["vision_msgs/msg/BoundingBox2D"](center=center, size_x=4.0, size_y=2.5)
        boxes.append(
            T["vision_msgs/msg/Detection2D"](
                header=header(stamp_ns), results=[result], bbox=bbox, id=str(7 + index)
            )
        )
    return T[DETECTIONS](header=header(stamp_ns), detections=boxes)


def label_info(stamp_ns: int) -> object:
    classes = [
        T["vision_msgs/msg/VisionClass"](class_id=i, class_name=name)
        for i, name in enumerate(["person", "forklift", "pallet"])
    ]
    return T[LABEL_INFO](header=header(stamp_ns), class_map=classes, threshold=0.25)


SAMPLES = {
    "/camera/image_raw": (IMAGE, image),
    "/camera/image_raw/compressed": (COMPRESSED, compressed_image),
    "/camera/camera_info": (CAMERA_INFO, camera_info),
    "/detections": (DETECTIONS, detections),
    "/label_info": (LABEL_INFO, label_info),
}


def write_sample_bag(
    path: Path, frames: int = 10, start_ns: int = 5 * SECOND, period_ns: int = SECOND // 10
) -> list[tuple[str, int, object]]:
    """A bag of every sample topic (label_info once), returns (topic, timestamp, msg) in order."""
    written = []
    with BagWriter(path) as writer:
        for topic, (msgtype, _) in SAMPLES.items():
            writer.add_topic(topic, msgtype)
        for frame in range(frames):
            stamp = start_ns + frame * period_ns
            for offset, (topic, (_, build)) in enumerate(SAMPLES.items()):
                if topic == "/label_info" and frame:
                    continue
                msg = build(stamp)
                writer.write(topic, stamp + offset, msg)
                written.append((topic, stamp + offset, msg))
    return written


def assert_same_fields(ours: object, theirs: object, where: str = "msg") -> None:
    """Compare a rosbags message with one decoded by another library, field by field."""
    if dataclasses.is_dataclass(ours):
        for field in dataclasses.fields(ours):
            if field.name != "__msgtype__":
                name = f"{where}.{field.name}"
                assert_same_fields(getattr(ours, field.name), getattr(theirs, field.name), name)
    elif isinstance(ours, np.ndarray):
        np.testing.assert_array_equal(
            ours,
            np.asarray(bytearray(theirs) if isinstance(theirs, bytes) else theirs),
            err_msg=where,
        )
    elif isinstance(ours, list):
        assert len(ours) == len(theirs), where
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            assert_same_fields(mine, other, f"{where}[{index}]")
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"
