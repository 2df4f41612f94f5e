"""sensor_msgs/CompressedImage <-> numpy: jpeg, png (8 and 16 bit), compressedDepth, bad bytes.

Payloads written by hand with OpenCV's codecs and ``struct`` stand in for what image_transport
publishes; our encoder's output is checked byte-level (format strings, depth header, PNG
signature) and by decoding it with OpenCV directly.
"""

from __future__ import annotations

import array
import struct

import cv2
import numpy as np
import pytest
from support.imaging import (
    COMPRESSED_CLASSES,
    HEADER,
    TYPESTORE,
    RosbagsCompressedImage,
    RosbagsImage,
    make_compressed,
    smooth_bgr,
)

from odet_ros.imaging import (
    ImageConversionError,
    compressed_to_numpy,
    numpy_to_compressed,
    numpy_to_image,
    to_numpy,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCENE = smooth_bgr(48, 64)


def jpeg_bytes(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def png_bytes(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def mean_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


@pytest.mark.parametrize("kind", sorted(COMPRESSED_CLASSES))
def test_image_transport_jpeg_of_rgb8_decodes_to_rgb_and_bgr(kind: str) -> None:
    msg = make_compressed(kind, "rgb8; jpeg compressed bgr8", jpeg_bytes(SCENE))
    assert mean_error(compressed_to_numpy(msg), SCENE[..., ::-1]) < 2  # restored to rgb8
    assert mean_error(compressed_to_numpy(msg, "bgr8"), SCENE) < 2
    grey = compressed_to_numpy(msg, "mono8")
    assert mean_error(grey, cv2.cvtColor(SCENE, cv2.COLOR_BGR2GRAY)) < 2


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_bare_formats_of_older_publishers_decode_as_stored(fmt: str) -> None:
    payload = jpeg_bytes(SCENE) if fmt == "jpeg" else png_bytes(SCENE)
    decoded = compressed_to_numpy(make_compressed("rosbags", fmt, payload))
    assert decoded.shape == SCENE.shape
    assert mean_error(decoded, SCENE) < (2 if fmt == "jpeg" else 1e-9)


def test_payload_stored_rgb_is_recognised() -> None:
    rgb = SCENE[..., ::-1].copy()
    msg = make_compressed("rosbags", "rgb8; png compressed rgb8", png_bytes(rgb))
    np.testing.assert_array_equal(compressed_to_numpy(msg, "bgr8"), SCENE)
    np.testing.assert_array_equal(compressed_to_numpy(msg), rgb)


@pytest.mark.parametrize("fmt", ["mono16; png compressed ", "mono16; png compressed mono16"])
def test_sixteen_bit_png_stays_sixteen_bit(fmt: str) -> None:
    depth = np.random.default_rng(0).integers(0, 65535, (20, 30), np.uint16, endpoint=True)
    msg = make_compressed("rclpy", fmt, png_bytes(depth))
    decoded = compressed_to_numpy(msg)
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, depth)
    np.testing.assert_array_equal(
        compressed_to_numpy(msg, "mono8"), np.floor(depth / 257 + 0.5).astype(np.uint8)
    )


@pytest.mark.parametrize("kind", sorted(COMPRESSED_CLASSES))
@pytest.mark.parametrize(
    ("encoding", "fmt", "expected_format"),
    [
        ("bgr8", "png", "bgr8; png compressed bgr8"),
        ("rgb8", "png", "rgb8; png compressed bgr8"),
        ("mono8", "png", "mono8; png compressed "),
        ("mono16", "png", "mono16; png compressed "),
        ("rgb16", "png", "rgb16; png compressed bgr16"),
        ("16UC1", "png", "16UC1; png compressed "),
        ("8UC3", "png", "8UC3; png compressed "),
    ],
)
def test_png_round_trips_are_exact(
    kind: str, encoding: str, fmt: str, expected_format: str
) -> None:
    rng = np.random.default_rng(1)
    channels = {"bgr8": 3, "rgb8": 3, "rgb16": 3, "8UC3": 3}.get(encoding, 1)
    dtype = np.uint16 if "16" in encoding else np.uint8
    shape = (12, 10, channels) if channels > 1 else (12, 10)
    image = rng.integers(0, np.iinfo(dtype).max, shape, dtype, endpoint=True)
    msg = numpy_to_compressed(image, HEADER, COMPRESSED_CLASSES[kind], fmt, encoding)
    assert msg.format == expected_format
    assert msg.header is HEADER
    assert isinstance(msg.data, np.ndarray if kind == "rosbags" else array.array)
    assert bytes(msg.data[:8]) == PNG_SIGNATURE
    decoded = to_numpy(msg)
    assert decoded.dtype == dtype
    np.testing.assert_array_equal(decoded, image)


def test_png_of_bgra_keeps_colour_and_drops_alpha_as_image_transport_does() -> None:
    bgra = cv2.cvtColor(SCENE, cv2.COLOR_BGR2BGRA)
    bgra[..., 3] = 7
    msg = numpy_to_compressed(bgra, HEADER, RosbagsCompressedImage, "png", "bgra8")
    assert msg.format == "bgra8; png compressed bgr8"
    decoded = compressed_to_numpy(msg)
    np.testing.assert_array_equal(decoded[..., :3], SCENE)
    assert (decoded[..., 3] == 255).all()


@pytest.mark.parametrize("kind", sorted(COMPRESSED_CLASSES))
def test_jpeg_round_trip_and_quality(kind: str) -> None:
    cls = COMPRESSED_CLASSES[kind]
    high = numpy_to_compressed(SCENE, HEADER, cls, "jpeg", "bgr8", quality=95)
    low = numpy_to_compressed(SCENE, HEADER, cls, "jpeg", "bgr8", quality=20)
    assert high.format == "bgr8; jpeg compressed bgr8"
    assert bytes(high.data[:2]) == b"\xff\xd8"
    assert len(low.data) < len(high.data)
    direct = cv2.imdecode(np.frombuffer(bytes(high.data), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(compressed_to_numpy(high), direct)
    assert mean_error(compressed_to_numpy(high), SCENE) < 2


def test_jpeg_of_mono16_is_stored_as_scaled_mono8() -> None:
    depth = (cv2.cvtColor(SCENE, cv2.COLOR_BGR2GRAY).astype(np.uint16)) * 257
    msg = numpy_to_compressed(depth, HEADER, RosbagsCompressedImage, "jpeg", "mono16")
    assert msg.format == "mono16; jpeg compressed mono8"
    decoded = compressed_to_numpy(msg)
    assert decoded.dtype == np.uint8
    assert mean_error(decoded, depth // 257) < 2


def test_bayer_is_stored_demosaiced_and_declared_bgr8() -> None:
    mosaic = cv2.cvtColor(SCENE, cv2.COLOR_BGR2GRAY)
    msg = numpy_to_compressed(mosaic, HEADER, RosbagsCompressedImage, "png", "bayer_rggb8")
    assert msg.format == "bgr8; png compressed bgr8"
    np.testing.assert_array_equal(
        compressed_to_numpy(msg), cv2.cvtColor(mosaic, cv2.COLOR_BayerBG2BGR)
    )


def test_compressed_depth_16uc1_layout_and_round_trip() -> None:
    depth = np.random.default_rng(2).integers(0, 65535, (24, 32), np.uint16, endpoint=True)
    msg = numpy_to_compressed(depth, HEADER, RosbagsCompressedImage, "compressedDepth", "16UC1")
    assert msg.format == "16UC1; compressedDepth png"
    raw = bytes(msg.data)
    assert struct.unpack("<iff", raw[:12]) == (0, 0.0, 0.0)
    assert raw[12:20] == PNG_SIGNATURE
    np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(raw[12:], np.uint8), -1), depth)
    np.testing.assert_array_equal(compressed_to_numpy(msg), depth)


def test_compressed_depth_32fc1_is_inverse_quantised() -> None:
    quant_a, quant_b = 5000.0, -120.0  # not image_transport's defaults: read from the header
    inverse = np.array([[0, 1000, 2000], [65535, 121, 5120]], np.uint16)
    raw = struct.pack("<iff", 0, quant_a, quant_b) + png_bytes(inverse)
    msg = make_compressed("rclpy", "32FC1; compressedDepth png", raw)
    depth = compressed_to_numpy(msg)
    assert depth.dtype == np.float32
    assert np.isnan(depth[0, 0])
    expected = np.float32(quant_a) / (inverse.astype(np.float32) - np.float32(quant_b))
    np.testing.assert_array_equal(depth.ravel()[1:], expected.ravel()[1:])


def test_compressed_depth_32fc1_round_trip_within_quantisation() -> None:
    depth = np.random.default_rng(3).uniform(0.2, 9.9, (30, 40)).astype(np.float32)
    depth[0, :4] = [np.nan, 0.0, 10.0, 50.0]  # no reading, zero, at and beyond depth_max
    msg = numpy_to_compressed(depth, HEADER, RosbagsCompressedImage, "compressedDepth", "32FC1")
    assert msg.format == "32FC1; compressedDepth png"
    _, quant_a, quant_b = struct.unpack("<iff", bytes(msg.data[:12]))
    assert (quant_a, quant_b) == (100.0 * 101.0, 1.0 - 100.0 * 101.0 / 10.0)
    decoded = compressed_to_numpy(msg)
    assert np.isnan(decoded[0, :4]).all()
    valid = depth[1:]
    # truncating the inverse depth loses < 1 step: a relative error below depth / A
    tolerance = valid**2 / quant_a * 1.01 + 1e-6
    assert (np.abs(decoded[1:] - valid) <= tolerance).all()


def test_rosbags_compressed_message_survives_cdr_serialisation() -> None:
    msg = numpy_to_compressed(SCENE, HEADER, RosbagsCompressedImage, "png", "bgr8")
    raw = TYPESTORE.serialize_cdr(msg, RosbagsCompressedImage.__msgtype__)
    decoded = TYPESTORE.deserialize_cdr(raw, RosbagsCompressedImage.__msgtype__)
    np.testing.assert_array_equal(to_numpy(decoded), SCENE)


def test_to_numpy_dispatches_on_the_message_type() -> None:
    raw = numpy_to_image(SCENE, "bgr8", HEADER, RosbagsImage)
    packed = numpy_to_compressed(SCENE, HEADER, RosbagsCompressedImage, "png", "bgr8")
    np.testing.assert_array_equal(to_numpy(raw, "rgb8"), to_numpy(packed, "rgb8"))


@pytest.mark.parametrize(
    ("fmt", "payload"),
    [
        ("jpeg", b""),
        ("jpeg", b"definitely not a jpeg"),
        ("rgb8; jpeg compressed bgr8", jpeg_bytes(SCENE)[:2]),
        ("bgr8; png compressed bgr8", png_bytes(SCENE)[:40]),
        ("16UC1; compressedDepth png", b"\0" * 12),
        ("16UC1; compressedDepth png", b"\0" * 12 + b"garbage"),
        ("32FC1; compressedDepth png", b"\0" * 5),
        ("32FC1; compressedDepth png", struct.pack("<iff", 0, 1, 1) + png_bytes(SCENE)),
        ("16UC1; compressedDepth rvl", b"\0" * 40),
        ("rgb8; compressedDepth png", b"\0" * 40),
        ("grey8; jpeg compressed bgr8", jpeg_bytes(SCENE)),
    ],
)
@pytest.mark.parametrize("kind", sorted(COMPRESSED_CLASSES))
def test_undecodable_payloads_name_the_format(kind: str, fmt: str, payload: bytes) -> None:
    with pytest.raises(ImageConversionError) as caught:
        compressed_to_numpy(make_compressed(kind, fmt, payload))
    text = str(caught.value)
    assert fmt.partition(";")[0] in text


def test_corrupt_jpeg_body_is_caught_or_decoded_never_a_crash() -> None:
    body = bytearray(jpeg_bytes(SCENE))
    body[len(body) // 2 :] = bytes(len(body) - len(body) // 2)
    try:
        decoded = compressed_to_numpy(make_compressed("rosbags", "jpeg", bytes(body)))
    except ImageConversionError:
        return
    assert decoded.shape == SCENE.shape  # libjpeg may recover a damaged scan


@pytest.mark.parametrize(
    ("array", "fmt", "encoding", "quality", "fragment"),
    [
        (SCENE, "webp", "bgr8", 90, "jpeg, png or compressedDepth"),
        (SCENE, "jpeg", "bgr8", 0, "quality"),
        (np.zeros((4, 4), np.float32), "jpeg", "32FC1", 90, "no colour meaning"),
        (np.zeros((4, 4), np.float32), "png", "32FC1", 90, "no colour meaning"),
        (SCENE, "compressedDepth", "bgr8", 90, "compressedDepth holds"),
        (SCENE, "png", "mono8", 90, "shape"),
    ],
)
def test_numpy_to_compressed_rejects_what_it_cannot_write(
    array: np.ndarray, fmt: str, encoding: str, quality: int, fragment: str
) -> None:
    with pytest.raises(ImageConversionError, match=fragment) as caught:
        numpy_to_compressed(array, HEADER, RosbagsCompressedImage, fmt, encoding, quality=quality)
    assert encoding in str(caught.value)
