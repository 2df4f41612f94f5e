"""Image and CompressedImage read from serialized CDR: the same fields and pixels as rosbags'
deserialiser gives (an independent CDR implementation), in both byte orders, without copying the
pixels, and a clear error, never a crash, on anything malformed."""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

import numpy as np
import pytest
from support.imaging import (
    TYPESTORE,
    RosbagsCompressedImage,
    RosbagsHeader,
    RosbagsImage,
    RosbagsTime,
)

from odet_ros.imaging import ImageConversionError, image_to_numpy
from odet_ros.imaging.cdr import compressed_image_from_cdr, image_from_cdr


class Stamp(NamedTuple):
    sec: int
    nanosec: int


class Header(NamedTuple):
    stamp: Stamp
    frame_id: str


def make_header(sec: int, nanosec: int, frame_id: str) -> Header:
    return Header(Stamp(sec, nanosec), frame_id)


def rosbags_image(frame_id: str, encoding: str, pixels: np.ndarray, sec: int = 7) -> Any:
    height, width = pixels.shape[:2]
    return RosbagsImage(
        header=RosbagsHeader(stamp=RosbagsTime(sec=sec, nanosec=999_999_999), frame_id=frame_id),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=pixels[0].nbytes,
        data=pixels.reshape(-1).view(np.uint8),
    )


def serialized(msg: Any, typename: str, little_endian: bool = True) -> bytes:
    return bytes(TYPESTORE.serialize_cdr(msg, typename, little_endian=little_endian))


# frame_id and encoding lengths that leave every later field at each alignment (CDR pads to 4)
@pytest.mark.parametrize("frame_id", ["", "c", "cam", "camera", "front/camera_optical_frame"])
@pytest.mark.parametrize("encoding", ["bgr8", "mono16", "8UC3", "rgb8"])
@pytest.mark.parametrize("little_endian", [True, False])
def test_image_fields_and_pixels_match_rosbags(
    frame_id: str, encoding: str, little_endian: bool
) -> None:
    dtype, channels = (np.uint16, 1) if encoding == "mono16" else (np.uint8, 3)
    shape = (5, 7, channels) if channels > 1 else (5, 7)
    pixels = np.random.default_rng(0).integers(0, 200, shape).astype(dtype)
    raw = serialized(
        rosbags_image(frame_id, encoding, pixels), "sensor_msgs/msg/Image", little_endian
    )
    expected = TYPESTORE.deserialize_cdr(raw, "sensor_msgs/msg/Image")

    image = image_from_cdr(raw, make_header)

    assert image.header == Header(Stamp(7, 999_999_999), frame_id)
    assert (image.height, image.width, image.step) == (
        expected.height,
        expected.width,
        expected.step,
    )
    assert (image.encoding, image.is_bigendian) == (encoding, expected.is_bigendian)
    np.testing.assert_array_equal(image.data, expected.data)
    np.testing.assert_array_equal(image_to_numpy(image), pixels)


def test_pixels_are_a_view_of_the_received_bytes() -> None:
    pixels = np.zeros((48, 64, 3), np.uint8)
    raw = serialized(rosbags_image("cam", "bgr8", pixels), "sensor_msgs/msg/Image")
    image = image_from_cdr(raw, make_header)
    assert np.shares_memory(image_to_numpy(image), np.frombuffer(raw, np.uint8))
    assert not image.data.flags.writeable


def test_negative_stamp_seconds_read_as_int32() -> None:
    raw = serialized(
        rosbags_image("cam", "mono8", np.zeros((2, 2), np.uint8), sec=-3), "sensor_msgs/msg/Image"
    )
    assert image_from_cdr(raw, make_header).header.stamp == Stamp(-3, 999_999_999)


@pytest.mark.parametrize("little_endian", [True, False])
def test_compressed_image_matches_rosbags(little_endian: bool) -> None:
    jpeg = np.arange(1000, dtype=np.uint8) % 251
    msg = RosbagsCompressedImage(
        header=RosbagsHeader(stamp=RosbagsTime(sec=3, nanosec=4), frame_id="rear"),
        format="bgr8; jpeg compressed bgr8",
        data=jpeg,
    )
    raw = serialized(msg, "sensor_msgs/msg/CompressedImage", little_endian)

    image = compressed_image_from_cdr(raw, make_header)

    assert image.header == Header(Stamp(3, 4), "rear")
    assert image.format == "bgr8; jpeg compressed bgr8"
    np.testing.assert_array_equal(image.data, jpeg)


def good_image() -> bytes:
    pixels = np.ones((4, 4, 3), np.uint8)
    return serialized(rosbags_image("cam", "bgr8", pixels), "sensor_msgs/msg/Image")


def with_uint32(raw: bytes, offset: int, value: int) -> bytes:
    return raw[:offset] + struct.pack("<I", value) + raw[offset + 4 :]


FRAME_ID_LENGTH_AT = 12  # after the encapsulation header and the stamp
DATA_LENGTH_AT = -4 * 4 * 3 - 4  # before the 48 pixel bytes


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "shorter than the CDR encapsulation header"),
        (b"\x00\x0a\x00\x00" + good_image()[4:], "CDR encapsulation 0x000a"),
        (good_image()[:10], "ends at byte 10"),
        (good_image()[:-1], "data says 48 bytes but 47 are left"),
        (with_uint32(good_image(), FRAME_ID_LENGTH_AT, 10**6), "header.frame_id says 1000000"),
        (with_uint32(good_image(), len(good_image()) + DATA_LENGTH_AT, 2**32 - 1), "data says"),
        (good_image()[:16] + b"\xff\xfe\x00\x00" + good_image()[20:], "frame_id is not UTF-8"),
    ],
    ids=["empty", "encapsulation", "short", "truncated-pixels", "frame-id", "data", "utf8"],
)
def test_malformed_bytes_raise_a_conversion_error(raw: bytes, message: str) -> None:
    with pytest.raises(ImageConversionError, match="serialized sensor_msgs/Image") as caught:
        image_from_cdr(raw, make_header)
    assert message in str(caught.value)


def test_step_inconsistent_with_the_data_is_refused_when_read() -> None:
    pixels = np.ones((4, 4, 3), np.uint8)
    msg = rosbags_image("cam", "bgr8", pixels)
    msg.step = 100  # more than the 48 bytes hold
    image = image_from_cdr(serialized(msg, "sensor_msgs/msg/Image"), make_header)
    with pytest.raises(ImageConversionError, match="step 100"):
        image_to_numpy(image)
