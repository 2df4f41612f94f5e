"""sensor_msgs/Image <-> numpy: every encoding, padded rows, both byte orders, both message kinds.

Expected values come from outside the code under test: buffers packed here byte by byte, numpy's
own byte order handling, OpenCV's cvtColor with the codes cv_bridge's source names, and images
whose colour is known (uniform scenes mosaiced or YUV-packed by hand).
"""

from __future__ import annotations

import array
import re

import cv2
import numpy as np
import pytest
from support.imaging import (
    HEADER,
    IMAGE_CLASSES,
    LAYOUTS,
    TYPESTORE,
    RosbagsImage,
    make_image,
    padded_bytes,
    random_native,
)

from odet_ros.errors import OdetError
from odet_ros.imaging import ImageConversionError, image_to_numpy, numpy_to_image

U16 = np.dtype(np.uint16)
HEIGHT, WIDTH, PADDING = 4, 6, 5  # odd padding: 16-bit rows start unaligned

# cv_bridge's colour sources and the OpenCV names its getConversionCodes() uses for them.
OPENCV_SOURCE = {
    "mono": "GRAY",
    "rgb": "RGB",
    "bgr": "BGR",
    "rgba": "RGBA",
    "bgra": "BGRA",
    "bayer_rggb": "BayerBG",
    "bayer_bggr": "BayerRG",
    "bayer_gbrg": "BayerGR",
    "bayer_grbg": "BayerGB",
}
YUV_SUFFIX = {"yuv422": "UYVY", "uyvy": "UYVY", "yuv422_yuy2": "YUY2", "yuyv": "YUY2"}
YUV_SUFFIX |= {"nv21": "NV21", "nv12": "NV12"}
OPENCV_TARGET = {"mono8": "GRAY", "rgb8": "RGB", "bgr8": "BGR"}
COLOUR_SOURCES = [name for name in LAYOUTS if not name[0].isdigit()]


def native_array(encoding: str, seed: int = 0) -> np.ndarray:
    return random_native(encoding, HEIGHT, WIDTH, np.random.default_rng(seed))


def message_for(native: np.ndarray, encoding: str, kind: str, big_endian: bool = False) -> object:
    step = native[0].nbytes + PADDING
    raw = padded_bytes(native, step, big_endian)
    return make_image(kind, encoding, HEIGHT, WIDTH, step, raw, big_endian)


def expected_conversion(native: np.ndarray, encoding: str, target: str) -> np.ndarray:
    """cv_bridge's answer: one cvtColor (code by the source's name), then 16 -> 8 bit scaling."""
    if encoding == target:
        return native
    family = encoding.rstrip("0123456789")
    target_name = OPENCV_TARGET[target]
    image = np.ascontiguousarray(native)
    if encoding in YUV_SUFFIX:
        image = cv2.cvtColor(image, getattr(cv2, f"COLOR_YUV2{target_name}_{YUV_SUFFIX[encoding]}"))
    elif OPENCV_SOURCE[family] != target_name:
        image = cv2.cvtColor(image, getattr(cv2, f"COLOR_{OPENCV_SOURCE[family]}2{target_name}"))
    if image.dtype == U16:
        image = np.rint(image * (255 / 65535)).astype(np.uint8)
    return image


@pytest.mark.parametrize("kind", sorted(IMAGE_CLASSES))
@pytest.mark.parametrize("big_endian", [False, True], ids=["little", "big"])
@pytest.mark.parametrize("encoding", sorted(LAYOUTS))
def test_native_layout_with_padded_rows(encoding: str, big_endian: bool, kind: str) -> None:
    native = native_array(encoding)
    pixels = image_to_numpy(message_for(native, encoding, kind, big_endian))
    assert pixels.dtype == native.dtype  # host byte order, whatever the message's
    assert pixels.dtype.isnative
    np.testing.assert_array_equal(pixels, native)


@pytest.mark.parametrize("kind", sorted(IMAGE_CLASSES))
def test_native_order_is_a_view_and_a_foreign_order_is_swapped(kind: str) -> None:
    native = native_array("mono16")
    step = native[0].nbytes + 4
    same_order = make_image(kind, "mono16", HEIGHT, WIDTH, step, padded_bytes(native, step, False))
    view = image_to_numpy(same_order)
    assert np.shares_memory(view, np.frombuffer(same_order.data, np.uint8))
    assert view.flags.writeable == (kind == "rclpy")  # rosbags data is read-only bag memory
    swapped_msg = make_image(kind, "mono16", HEIGHT, WIDTH, step, padded_bytes(native, step, True))
    swapped_msg.is_bigendian = 1
    swapped = image_to_numpy(swapped_msg)
    assert not np.shares_memory(swapped, np.frombuffer(swapped_msg.data, np.uint8))
    np.testing.assert_array_equal(swapped, native)


def test_rows_that_split_a_sample_are_copied_for_opencv() -> None:
    native = native_array("mono16")
    msg = message_for(native, "mono16", "rosbags")  # odd step: 12 + 5 bytes
    pixels = image_to_numpy(msg)
    assert pixels.flags.c_contiguous
    np.testing.assert_array_equal(cv2.resize(pixels, (WIDTH, HEIGHT)), native)


def test_big_endian_bytes_are_read_most_significant_first() -> None:
    raw = bytes([0x12, 0x34, 0xAB, 0xCD, 0, 0])  # two pixels, two padding bytes
    msg = make_image("rosbags", "mono16", 1, 2, 6, raw, big_endian=True)
    assert image_to_numpy(msg).tolist() == [[0x1234, 0xABCD]]
    msg = make_image("rosbags", "mono16", 1, 2, 6, raw, big_endian=False)
    assert image_to_numpy(msg).tolist() == [[0x3412, 0xCDAB]]


@pytest.mark.parametrize("kind", sorted(IMAGE_CLASSES))
@pytest.mark.parametrize("encoding", sorted(LAYOUTS))
def test_numpy_to_image_writes_unpadded_rows(encoding: str, kind: str) -> None:
    native = native_array(encoding, seed=1)
    msg = numpy_to_image(native, encoding, HEADER, IMAGE_CLASSES[kind])
    assert isinstance(msg, IMAGE_CLASSES[kind])
    assert (msg.height, msg.width, msg.encoding) == (HEIGHT, WIDTH, encoding)
    assert msg.step == native[0].nbytes
    assert msg.is_bigendian == 0
    assert msg.header is HEADER
    assert isinstance(msg.data, np.ndarray if kind == "rosbags" else array.array)
    assert bytes(msg.data) == padded_bytes(native, msg.step, big_endian=False)
    np.testing.assert_array_equal(image_to_numpy(msg), native)


def test_rosbags_message_survives_cdr_serialisation() -> None:
    native = native_array("rgb16", seed=2)
    msg = numpy_to_image(native, "rgb16", HEADER, RosbagsImage)
    raw = TYPESTORE.serialize_cdr(msg, RosbagsImage.__msgtype__)
    decoded = TYPESTORE.deserialize_cdr(raw, RosbagsImage.__msgtype__)
    assert decoded.header.frame_id == HEADER.frame_id
    np.testing.assert_array_equal(image_to_numpy(decoded), native)


@pytest.mark.parametrize("kind", sorted(IMAGE_CLASSES))
def test_numpy_to_image_keeps_a_big_endian_array_big_endian(kind: str) -> None:
    native = native_array("16UC3", seed=3)
    msg = numpy_to_image(native.astype(">u2"), "16UC3", HEADER, IMAGE_CLASSES[kind])
    assert msg.is_bigendian == 1
    assert bytes(msg.data) == padded_bytes(native, msg.step, big_endian=True)
    np.testing.assert_array_equal(image_to_numpy(msg), native)


def test_numpy_to_image_copies_the_array() -> None:
    frame = native_array("bgr8")
    msg = numpy_to_image(frame[:, ::-1], "bgr8", HEADER, RosbagsImage)  # a strided view
    expected = frame[:, ::-1].copy()
    frame[:] = 0
    np.testing.assert_array_equal(image_to_numpy(msg), expected)


@pytest.mark.parametrize("big_endian", [False, True], ids=["little", "big"])
@pytest.mark.parametrize("target", sorted(OPENCV_TARGET))
@pytest.mark.parametrize("encoding", COLOUR_SOURCES)
def test_colour_conversion_is_cv_bridges(encoding: str, target: str, big_endian: bool) -> None:
    native = native_array(encoding, seed=4)
    converted = image_to_numpy(message_for(native, encoding, "rosbags", big_endian), target)
    expected = expected_conversion(native, encoding, target)
    assert converted.dtype == np.uint8
    assert converted.shape == (HEIGHT, WIDTH) + ((3,) if target != "mono8" else ())
    np.testing.assert_array_equal(converted, expected)


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "mono8"])
def test_asking_for_the_native_encoding_costs_no_copy(encoding: str) -> None:
    msg = message_for(native_array(encoding), encoding, "rclpy")
    assert np.shares_memory(image_to_numpy(msg, encoding), np.frombuffer(msg.data, np.uint8))


def mosaic(bgr: tuple[int, int, int], pattern: str, height: int, width: int) -> np.ndarray:
    """A uniform scene seen through a Bayer filter; ``pattern`` names the top-left 2x2 cell."""
    value = dict(zip("bgr", bgr, strict=True))
    cell = np.array([[value[c] for c in pattern[:2]], [value[c] for c in pattern[2:]]])
    return np.tile(cell, (height // 2, width // 2))


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
def test_bayer_patterns_recover_the_scene_colour(pattern: str, bits: int) -> None:
    colour = (30, 120, 220)  # b, g, r
    raw = mosaic(colour, pattern, 8, 8).astype(np.uint8 if bits == 8 else np.uint16)
    if bits == 16:
        raw *= 257
    msg = make_image("rosbags", f"bayer_{pattern}{bits}", 8, 8, raw[0].nbytes, raw.tobytes())
    interior = (slice(2, -2), slice(2, -2))
    assert (image_to_numpy(msg, "bgr8")[interior] == colour).all()
    assert (image_to_numpy(msg, "rgb8")[interior] == colour[::-1]).all()


def yuv_planes(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-size Y and half-size U, V planes of ``bgr``, by OpenCV's BGR -> I420."""
    height, width = bgr.shape[:2]
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    chroma = i420[height:].reshape(2, height // 2, width // 2)
    return i420[:height], chroma[0], chroma[1]


def pack_yuv(bgr: np.ndarray, encoding: str) -> np.ndarray:
    """``bgr`` packed by hand in the byte order ``encoding`` names (4:2:2 or 4:2:0)."""
    y, u, v = yuv_planes(bgr)
    height, width = y.shape
    if encoding in ("nv21", "nv12"):
        pairs = (v, u) if encoding == "nv21" else (u, v)
        return np.vstack([y, np.stack(pairs, axis=-1).reshape(height // 2, width)])
    u_rows, v_rows = np.repeat(u, 2, axis=0), np.repeat(v, 2, axis=0)
    chroma = np.empty((height, width), np.uint8)
    chroma[:, 0::2], chroma[:, 1::2] = u_rows, v_rows
    if encoding in ("yuv422", "uyvy"):  # U0 Y0 V0 Y1
        return np.stack([chroma, y], axis=-1)
    return np.stack([y, chroma], axis=-1)  # yuv422_yuy2 / yuyv: Y0 U0 Y1 V0


@pytest.mark.parametrize("encoding", sorted(YUV_SUFFIX))
def test_yuv_byte_orders_recover_the_scene_colour(encoding: str) -> None:
    scene = np.zeros((4, 8, 3), np.uint8)
    scene[:, :4] = (30, 120, 220)
    scene[:, 4:] = (200, 60, 10)
    packed = pack_yuv(scene, encoding)
    step = packed[0].nbytes + 3
    msg = make_image("rclpy", encoding, 4, 8, step, padded_bytes(packed, step, False))
    np.testing.assert_allclose(image_to_numpy(msg, "bgr8"), scene, atol=3)
    np.testing.assert_allclose(image_to_numpy(msg, "rgb8"), scene[..., ::-1], atol=3)


def test_bit_depth_scaling_rounds_as_convert_to() -> None:
    values = np.array([[0, 128, 129, 255, 256, 32767, 32768, 65279, 65535, 385]], np.uint16)
    msg = make_image("rosbags", "mono16", 1, 10, 20, values.tobytes())
    expected = np.floor(values / 257 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(image_to_numpy(msg, "mono8"), expected)
    grey = np.arange(0, 256, dtype=np.uint8).reshape(16, 16)
    msg8 = make_image("rosbags", "mono8", 16, 16, 16, grey.tobytes())
    np.testing.assert_array_equal(image_to_numpy(msg8, "mono16"), grey.astype(np.uint32) * 257)


@pytest.mark.parametrize(
    ("encoding", "color", "fragment"),
    [
        ("16UC1", "bgr8", "carries no colour"),
        ("32FC1", "mono8", "carries no colour"),
        ("8UC3", "bgr8", "carries no colour"),
        ("bayer_rggb8", "rgba8", "no conversion"),
        ("bgr8", "yuv422", "target must be"),
        ("bgr8", "hsv8", "target must be"),
    ],
)
def test_conversions_cv_bridge_refuses_are_refused(
    encoding: str, color: str, fragment: str
) -> None:
    msg = message_for(native_array(encoding), encoding, "rosbags")
    with pytest.raises(ImageConversionError, match=fragment) as caught:
        image_to_numpy(msg, color)
    assert encoding in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "fragments"),
    [
        ({"encoding": "bgr8", "height": 4, "width": 6, "step": 18, "size": 71}, ["71", "72"]),
        ({"encoding": "bgr8", "height": 4, "width": 6, "step": 17, "size": 80}, ["17", "18"]),
        ({"encoding": "mono16", "height": 4, "width": 6, "step": 11, "size": 80}, ["11", "12"]),
        ({"encoding": "nv21", "height": 4, "width": 6, "step": 6, "size": 24}, ["24", "36"]),
        ({"encoding": "bgr8", "height": 4, "width": 0, "step": 0, "size": 0}, ["0x4"]),
        ({"encoding": "mono8", "height": 0, "width": 6, "step": 6, "size": 0}, ["6x0"]),
        ({"encoding": "yuv422", "height": 2, "width": 3, "step": 6, "size": 12}, ["width", "2"]),
        ({"encoding": "nv12", "height": 3, "width": 4, "step": 4, "size": 18}, ["height", "2"]),
        ({"encoding": "rgb9", "height": 2, "width": 2, "step": 6, "size": 12}, ["unknown"]),
        ({"encoding": "", "height": 2, "width": 2, "step": 6, "size": 12}, ["unknown"]),
    ],
)
@pytest.mark.parametrize("kind", sorted(IMAGE_CLASSES))
def test_malformed_images_name_encoding_and_sizes(
    kind: str, fields: dict, fragments: list[str]
) -> None:
    msg = make_image(
        kind, fields["encoding"], fields["height"], fields["width"], fields["step"],
        bytes(fields["size"]),
    )  # fmt: skip
    with pytest.raises(ImageConversionError) as caught:
        image_to_numpy(msg)
    text = str(caught.value)
    assert repr(fields["encoding"]) in text
    for fragment in fragments:
        assert fragment in text


@pytest.mark.parametrize(
    ("array", "encoding", "fragment"),
    [
        (np.zeros((4, 6, 3), np.float32), "bgr8", "dtype uint8"),
        (np.zeros((4, 6), np.uint8), "bgr8", "(height, width, 3)"),
        (np.zeros((4, 6, 4), np.uint8), "bgr8", "(height, width, 3)"),
        (np.zeros((4, 6), np.int16), "16UC1", "dtype uint16"),
        (np.zeros((0, 6), np.uint8), "mono8", "positive"),
        (np.zeros((4, 6), np.uint8), "nv21", "3/2"),
        (np.zeros((2, 3, 2), np.uint8), "yuv422", "divisible by 2"),
        (np.zeros((4, 6), np.uint8), "grey8", "unknown"),
    ],
)
def test_numpy_to_image_rejects_arrays_that_do_not_fit(
    array: np.ndarray, encoding: str, fragment: str
) -> None:
    with pytest.raises(ImageConversionError, match=re.escape(fragment)):
        numpy_to_image(array, encoding, HEADER, RosbagsImage)


def test_single_channel_arrays_may_carry_a_channel_axis() -> None:
    grey = native_array("mono8")
    msg = numpy_to_image(grey[..., None], "mono8", HEADER, RosbagsImage)
    np.testing.assert_array_equal(image_to_numpy(msg), grey)


def test_the_error_is_an_odet_error_and_a_value_error() -> None:
    assert issubclass(ImageConversionError, OdetError)
    assert issubclass(ImageConversionError, ValueError)
