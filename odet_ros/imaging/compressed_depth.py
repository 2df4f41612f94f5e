"""The "compressedDepth png" payload of compressed_depth_image_transport (ROS 2 Humble's codec.cpp).

A 12-byte ConfigHeader (int32 format, INV_DEPTH = 0; float32 depthQuantA, depthQuantB; host order,
little-endian on every robot we know) precedes a PNG. 16-bit depth (16UC1, mono16) is stored as
is. 32FC1 depth in metres is stored as quantised inverse depth, ``inv = A / d + B`` truncated to
uint16 with ``A = z0 * (z0 + 1)`` and ``B = 1 - A / depth_max``; 0 marks "no reading" and decodes
to NaN, as does any depth at or beyond depth_max, or (here; the C++ overflows) at or below 0.
We use image_transport's default parameters.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from odet_ros.imaging.codecs import decode, encode
from odet_ros.imaging.encodings import Encoding
from odet_ros.imaging.errors import ImageConversionError

CONFIG_HEADER = struct.Struct("<iff")
INV_DEPTH = 0
DEPTH_MAX = 10.0  # metres: image_transport's depth_max default
DEPTH_QUANTIZATION = 100.0  # image_transport's depth_quantization default
PNG_LEVEL = 3  # image_transport uses 9 here: slower, and any level decodes the same

DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")


def decode_depth(data: np.ndarray, encoding: Encoding, what: str) -> np.ndarray:
    """The (H, W) depth image: uint16 as stored, or float32 metres with NaN for no reading."""
    _check_encoding(encoding, what)
    if data.size <= CONFIG_HEADER.size:
        raise ImageConversionError(
            f"{what}: {data.size} bytes cannot hold the {CONFIG_HEADER.size}-byte depth header "
            "and an image"
        )
    _, quant_a, quant_b = CONFIG_HEADER.unpack(data[: CONFIG_HEADER.size].tobytes())
    stored = decode(data[CONFIG_HEADER.size :], what)
    if stored.dtype != np.uint16 or stored.ndim != 2:
        raise ImageConversionError(
            f"{what}: the depth PNG holds {stored.dtype} of shape {stored.shape}, "
            "not single-channel 16-bit"
        )
    if encoding.dtype == np.uint16:
        return stored
    with np.errstate(divide="ignore", invalid="ignore"):
        depth: np.ndarray = np.float32(quant_a) / (stored.astype(np.float32) - np.float32(quant_b))
    depth[stored == 0] = np.nan
    return depth


def encode_depth(depth: np.ndarray, encoding: Encoding, what: str) -> np.ndarray:
    """ConfigHeader + PNG bytes for a (H, W) depth image in ``encoding``."""
    _check_encoding(encoding, what)
    quant_a = quant_b = np.float32(0.0)
    stored = depth
    if encoding.dtype == np.float32:
        z0 = np.float32(DEPTH_QUANTIZATION)
        quant_a = z0 * (z0 + np.float32(1.0))
        quant_b = np.float32(1.0) - quant_a / np.float32(DEPTH_MAX)
        valid = (depth > 0) & (depth < DEPTH_MAX)  # NaN is never valid
        stored = np.zeros(depth.shape, np.uint16)
        inverse = quant_a / depth[valid].astype(np.float32) + quant_b
        stored[valid] = np.clip(inverse, 0, 65535).astype(np.uint16)  # truncates, as C++ does
    png = encode(".png", stored, [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL], what)
    header = np.frombuffer(CONFIG_HEADER.pack(INV_DEPTH, quant_a, quant_b), np.uint8)
    return np.concatenate([header, png])


def _check_encoding(encoding: Encoding, what: str) -> None:
    if encoding.name not in DEPTH_ENCODINGS:
        raise ImageConversionError(
            f"{what}: compressedDepth holds {', '.join(DEPTH_ENCODINGS)}, not {encoding.name!r}"
        )
