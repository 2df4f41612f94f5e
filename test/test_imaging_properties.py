"""Property tests: any valid image reads back exactly; any malformed message raises only
ImageConversionError (never a numpy, OpenCV or index error, never a wrong-sized array)."""

from __future__ import annotations

import struct

import cv2
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.imaging import (
    BLOCKS,
    COMPRESSED_CLASSES,
    HEADER,
    IMAGE_CLASSES,
    LAYOUTS,
    make_compressed,
    make_image,
    padded_bytes,
    random_native,
    smooth_bgr,
)

from odet_ros.imaging import (
    ImageConversionError,
    compressed_to_numpy,
    image_to_numpy,
    numpy_to_image,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COLOURS = [None, "bgr8", "rgb8", "mono8"]
GENERIC = {name for name in LAYOUTS if name[0].isdigit()}


@st.composite
def valid_images(draw: st.DrawFn) -> tuple[object, np.ndarray, str, str | None]:
    encoding = draw(st.sampled_from(sorted(LAYOUTS)))
    block_width, block_height = BLOCKS.get(encoding, (1, 1))
    width = draw(st.integers(1, 12)) * block_width
    height = draw(st.integers(1, 8)) * block_height
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    native = random_native(encoding, height, width, rng)
    step = native[0].nbytes + draw(st.integers(0, 9))
    big_endian = draw(st.booleans())
    kind = draw(st.sampled_from(sorted(IMAGE_CLASSES)))
    raw = padded_bytes(native, step, big_endian) + bytes(draw(st.integers(0, 3)))
    msg = make_image(kind, encoding, height, width, step, raw, big_endian)
    return msg, native, kind, draw(st.sampled_from(COLOURS))


@SETTINGS
@given(valid_images())
def test_valid_images_read_back_exactly(case: tuple[object, np.ndarray, str, str | None]) -> None:
    msg, native, kind, color = case
    np.testing.assert_array_equal(image_to_numpy(msg), native)
    rebuilt = numpy_to_image(native, msg.encoding, HEADER, IMAGE_CLASSES[kind])
    np.testing.assert_array_equal(image_to_numpy(rebuilt), native)
    if color is None:
        return
    try:
        converted = image_to_numpy(msg, color)
    except ImageConversionError:
        assert msg.encoding in GENERIC  # only encodings without colour meaning are refused
        return
    assert msg.encoding not in GENERIC
    assert converted.dtype == np.uint8
    assert converted.shape == (msg.height, msg.width) + (() if color == "mono8" else (3,))


@st.composite
def malformed_images(draw: st.DrawFn) -> tuple[object, str | None]:
    encoding = draw(st.one_of(st.sampled_from(sorted(LAYOUTS)), st.text(max_size=8)))
    height = draw(st.integers(-2, 40))
    width = draw(st.integers(-2, 40))
    step = draw(st.integers(-4, 200))
    exact = max(step, 0) * max(height, 0) * 3 // 2
    size = draw(st.one_of(st.integers(0, 400), st.sampled_from([exact, exact - 1, exact + 1])))
    kind = draw(st.sampled_from(sorted(IMAGE_CLASSES)))
    msg = make_image(kind, encoding, height, width, step, bytes(max(size, 0)), draw(st.booleans()))
    color = draw(st.sampled_from([*COLOURS, "rgba16", "yuv422", "nonsense"]))
    return msg, color


@SETTINGS
@given(malformed_images())
def test_malformed_images_raise_only_image_conversion_error(
    case: tuple[object, str | None],
) -> None:
    msg, color = case
    try:
        pixels = image_to_numpy(msg, color)
    except ImageConversionError:
        return
    planar = msg.encoding in ("nv21", "nv12") and color is None
    assert pixels.shape[:2] == (msg.height * 3 // 2 if planar else msg.height, msg.width)


TINY = smooth_bgr(16, 16)
JPEG = cv2.imencode(".jpg", TINY)[1].tobytes()
PNG = cv2.imencode(".png", TINY)[1].tobytes()
DEPTH_PNG = cv2.imencode(".png", (TINY[..., 0].astype(np.uint16) * 250))[1].tobytes()
DEPTH = struct.pack("<iff", 0, 10100.0, -1009.0) + DEPTH_PNG
IHDR_END = 8 + 25  # PNG signature, then the IHDR chunk (its CRC guards the image size)
# (format, payload, first byte that may be damaged). A JPEG has no checksum over its size fields:
# damaged, they could claim gigapixels, and libjpeg fills what it cannot decode, so its damage
# starts after the start-of-scan header. PNG chunk lengths may be damaged: the decoder checks them.
PAYLOADS = [
    ("rgb8; jpeg compressed bgr8", JPEG, JPEG.index(b"\xff\xda") + 10),
    ("jpeg", JPEG, JPEG.index(b"\xff\xda") + 10),
    ("bgr8; png compressed bgr8", PNG, IHDR_END),
    ("16UC1; compressedDepth png", DEPTH, 12 + IHDR_END),
    ("32FC1; compressedDepth png", DEPTH, 12 + IHDR_END),
]


@st.composite
def damaged_compressed(draw: st.DrawFn) -> tuple[object, str | None, bool]:
    fmt, payload, first = draw(st.sampled_from(PAYLOADS))
    damage = draw(st.sampled_from(["truncate", "overwrite", "random"]))
    data = bytearray(payload)
    if damage == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "overwrite":
        for _ in range(draw(st.integers(1, 8))):
            if fmt.endswith(
                "compressedDepth png"
            ):  # header floats, or anything after the PNG's IHDR
                position = draw(st.one_of(st.integers(0, 11), st.integers(45, len(data) - 1)))
            else:
                position = draw(st.integers(first, len(data) - 1))
            data[position] = draw(st.integers(0, 255))
    else:
        data = bytearray(draw(st.binary(max_size=300)))
        fmt = draw(st.one_of(st.just(fmt), st.text(max_size=30)))
    kind = draw(st.sampled_from(sorted(COMPRESSED_CLASSES)))
    color = draw(st.sampled_from(COLOURS))
    return make_compressed(kind, fmt, bytes(data)), color, damage != "random"


@SETTINGS
@given(damaged_compressed())
def test_damaged_compressed_images_raise_only_image_conversion_error(
    case: tuple[object, str | None, bool],
) -> None:
    msg, color, from_tiny = case
    try:
        pixels = compressed_to_numpy(msg, color)
    except ImageConversionError:
        return
    assert pixels.size > 0
    if from_tiny:  # random bytes may happen to form some other (tiny PNM) image
        assert pixels.shape[:2] == TINY.shape[:2]
