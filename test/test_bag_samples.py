"""Sample messages and bags for the bag tests (the other test_bag modules import them), and the
typestore tests they rest on: our vision_msgs definitions hash exactly as ROS's generated code."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from odet_ros.bags import BagError, BagWriter, make_typestore

TYPESTORE = make_typestore("humble")
T = TYPESTORE.types
IMAGE, COMPRESSED, CAMERA_INFO = (
    "sensor_msgs/msg/Image",
    "sensor_msgs/msg/CompressedImage",
    "sensor_msgs/msg/CameraInfo",
)
DETECTIONS, LABEL_INFO = "vision_msgs/msg/Detection2DArray", "vision_msgs/msg/LabelInfo"
SECOND = 1_000_000_000

# RIHS01 type hashes from rosidl's generated C code for vision_msgs 4.x (Jazzy build).
ROS_TYPE_HASHES = {
    "Detection2DArray": "214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968",
    "Detection2D": "0d12b69df5c593b3455b7346fac8205437a7d4bcb09b9e0e0b2dde787ded38ea",
    "BoundingBox2D": "008eacbb0cf8f26e83795547bed013eec3675485ef386ec056d80eaaf1c1ce2f",
    "ObjectHypothesis": "51da43cec11c01957a64d1e05a24acd18aae7745ec30b74348ad5f6d634f7f90",
    "ObjectHypothesisWithPose": "41c12344c0396c48b81df12467c192d99b2a0eb1463c5c37194e4223251c80bc",
    "Point2D": "eab0e83f44ab4de92ceaf76dd7d0e7638f2bdd1d16ffbe16c7a136c48e407247",
    "Pose2D": "b0b5d1d7b4c20dd4fcde3ed1d4b289a919290572007d67a97043814db25d3648",
    "LabelInfo": "3d37df4015cdf660cc851c51897f2acd957e1ca6205ba0a99aebffb9406b0783",
    "VisionClass": "1e4a11f0fed50b5623cb8ff26ca0e37952a48a9c074d16f804b44e9164c2037a",
    "Detection3DArray": "793f5eab9595ac1c0da07873cc859db42eae51f0ee76056db8562515d830e018",
    "Detection3D": "ddd703be132ab0b69d33121f1bb034132bfbb3b0ac5f9fb1516005ba1c8a265b",
    "BoundingBox3D": "bbb73a65c163d7f9bb29009c7bde9f7faa576bd2d23299c4511d19230dab4698",
}


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


@pytest.mark.parametrize("distro", ["humble", "jazzy"])
def test_vision_msgs_hash_like_ros_generated_code(distro):
    typestore = make_typestore(distro)
    for name, digest in ROS_TYPE_HASHES.items():
        assert typestore.hash_rihs01(f"vision_msgs/msg/{name}") == f"RIHS01_{digest}", name


def test_typestore_is_cached_per_distro():
    assert make_typestore("humble") is make_typestore()
    assert make_typestore("jazzy") is not make_typestore("humble")


def test_unknown_distro_is_a_clear_error():
    with pytest.raises(BagError, match=r"unknown ROS distro 'foxy'.*humble, jazzy"):
        make_typestore("foxy")


def test_samples_survive_a_cdr_round_trip():
    for msgtype, build in SAMPLES.values():
        msg = build(3 * SECOND + 7)
        again = TYPESTORE.deserialize_cdr(TYPESTORE.serialize_cdr(msg, msgtype), msgtype)
        assert_same_fields(msg, again)
