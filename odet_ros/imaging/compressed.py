"""sensor_msgs/CompressedImage <-> numpy, with the format strings image_transport writes.

compressed_image_transport writes ``"<encoding>; <jpeg|png> compressed <stored>"``: colour images
(rgb8, bgra16 ...) are stored as bgr8 (JPEG) or bgr8/bgr16 (PNG), mono images as mono8 (JPEG) or
unchanged (PNG, so mono16 stays 16-bit). Older publishers wrote a bare ``"jpeg"``/``"png"``.
compressed_depth_image_transport writes ``"<encoding>; compressedDepth png"`` (see
compressed_depth). Decoding with ``color=None`` gives what image_transport's subscriber gives:
the payload at its stored bit depth, in the channel order of the original encoding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from odet_ros.imaging import encodings as enc
from odet_ros.imaging.buffers import byte_field, message_bytes
from odet_ros.imaging.codecs import decode, encode
from odet_ros.imaging.color import convert_color
from odet_ros.imaging.compressed_depth import decode_depth, encode_depth
from odet_ros.imaging.errors import ImageConversionError
from odet_ros.imaging.raw import image_size
from odet_ros.interfaces.protocols import CompressedImageMessage, Header, M

PNG_LEVEL = 3  # image_transport's png_level default


@dataclass(frozen=True)
class CompressedFormat:
    """What a CompressedImage ``format`` string says about its payload."""

    encoding: str | None  # the raw image's encoding; None for a bare "jpeg"/"png"
    depth: bool  # compressedDepth: config header, then PNG
    payload_rgb: bool  # a colour payload stored RGB, not OpenCV's BGR (old publishers)


def parse_format(text: str) -> CompressedFormat:
    """Read a format string such as ``"rgb8; jpeg compressed bgr8"``."""
    declared, separator, rest = text.partition(";")
    encoding = declared.strip() if separator else None
    if "compressedDepth" in text:
        if "rvl" in rest:
            raise ImageConversionError(f"CompressedImage format {text!r}: RVL is not supported")
        return CompressedFormat(encoding, depth=True, payload_rgb=False)
    return CompressedFormat(encoding, depth=False, payload_rgb="compressed rgb" in rest)


def compressed_to_numpy(msg: CompressedImageMessage, color: str | None = None) -> np.ndarray:
    """The pixels of a ``sensor_msgs/CompressedImage``.

    ``color=None``: as image_transport decodes it (a depth image is (H, W) uint16 or float32
    metres with NaN where there is no reading). ``color="bgr8"`` etc.: converted as cv_bridge does.
    """
    text = str(msg.format)
    fmt = parse_format(text)
    data = message_bytes(msg.data, "sensor_msgs/CompressedImage")
    what = f"CompressedImage format {text!r} ({data.size} bytes)"
    declared = enc.lookup(fmt.encoding) if fmt.encoding else None
    if fmt.depth:
        source = declared or enc.ENCODINGS["16UC1"]
        image = decode_depth(data, source, what)
    else:
        image = decode(data, what)
        source = _payload_encoding(image, fmt.payload_rgb, what)
        if color is None and declared is not None and declared.layout in enc.RGB_FAMILY:
            color = enc.color_encoding(declared.layout, source.bits).name
    return image if color is None else convert_color(image, source, color)


def numpy_to_compressed(
    array: np.ndarray,
    header: Header,
    msg_type: Callable[..., M],
    fmt: str = "jpeg",
    encoding: str = "bgr8",
    *,
    quality: int = 90,
) -> M:
    """A ``msg_type`` (rclpy or rosbags CompressedImage class) holding ``array`` compressed.

    ``array`` is in ``encoding``'s native layout; ``fmt`` is "jpeg", "png" or "compressedDepth"
    (16UC1, mono16 or 32FC1 depth); ``quality`` is the JPEG quality (1-100).
    """
    source = enc.lookup(encoding)
    pixels = np.asarray(array)
    image_size(pixels, source)
    what = f"{fmt} of a {pixels.shape} {encoding!r} image"
    codec = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png"}.get(fmt)
    if fmt in ("compressedDepth", "compressedDepth png"):
        payload = encode_depth(pixels, source, what)
        return msg_type(
            header=header,
            format=f"{encoding}; compressedDepth png",
            data=byte_field(msg_type, payload),
        )
    if codec is None:
        raise ImageConversionError(f"{what}: format must be jpeg, png or compressedDepth")
    if not 1 <= quality <= 100:
        raise ImageConversionError(f"{what}: JPEG quality {quality} is not within 1-100")
    declared, stored = _stored_encodings(source, codec, what)
    if codec == "jpeg":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    else:
        params = [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL]
    image = convert_color(pixels, source, stored) if stored else pixels
    payload = encode(".jpg" if codec == "jpeg" else ".png", image, params, what)
    return msg_type(
        header=header,
        format=f"{declared}; {codec} compressed {stored}",
        data=byte_field(msg_type, payload),
    )


def _stored_encodings(source: enc.Encoding, codec: str, what: str) -> tuple[str, str]:
    """(encoding named in the format, encoding of the payload; "" when stored unchanged).

    Bayer and YUV images are stored as bgr and declared bgr: image_transport's subscriber
    could not restore them, and a detector wants colour anyway.
    """
    bits = 8 if codec == "jpeg" else source.bits
    if source.layout == enc.GRAY:
        return source.name, "mono8" if codec == "jpeg" else ""
    if source.layout in enc.RGB_FAMILY:
        return source.name, f"bgr{bits}"
    if source.layout is not None:
        return f"bgr{bits}", f"bgr{bits}"
    if codec == "png" and source.dtype in (np.uint8, np.uint16) and source.channels != 2:
        return source.name, ""
    raise ImageConversionError(
        f"{what}: {source.name} has no colour meaning; compress it as png (8/16-bit, 1, 3 or 4 "
        "channels) or compressedDepth (depth)"
    )


def _payload_encoding(image: np.ndarray, rgb: bool, what: str) -> enc.Encoding:
    """The encoding of a decoded payload: gray, bgr or bgra (rgb/rgba if ``rgb``), 8 or 16 bits."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    layouts = {1: enc.GRAY, 3: enc.RGB if rgb else enc.BGR, 4: enc.RGBA if rgb else enc.BGRA}
    bits = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(image.dtype)
    if channels not in layouts or bits is None:
        raise ImageConversionError(
            f"{what}: decoded to {channels}-channel {image.dtype}, which no encoding describes"
        )
    return enc.color_encoding(layouts[channels], bits)
