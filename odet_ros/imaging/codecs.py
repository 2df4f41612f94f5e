"""OpenCV's image codecs behind errors that say which message failed."""

from __future__ import annotations

import struct

import cv2
import numpy as np

from odet_ros.imaging.errors import ImageConversionError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK_HEAD = struct.Struct(">I4s")  # length, type; then data and a 4-byte CRC


def decode(data: np.ndarray, what: str) -> np.ndarray:
    """A JPEG/PNG payload as stored: no colour conversion, 16-bit stays 16-bit."""
    if bytes(data[: len(PNG_SIGNATURE)]) == PNG_SIGNATURE:
        _check_png_chunks(data, what)
    image = None
    if data.size:
        try:
            image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        except cv2.error:
            image = None
    if image is None:
        raise ImageConversionError(f"{what}: {data.size} bytes could not be decoded as an image")
    return image


def encode(extension: str, image: np.ndarray, params: list[int], what: str) -> np.ndarray:
    """``image`` compressed as ``extension`` (".jpg", ".png"), as a 1-D uint8 array."""
    try:
        ok, encoded = cv2.imencode(extension, image, params)
    except cv2.error as error:
        raise ImageConversionError(
            f"{what}: OpenCV cannot write it as {extension}: {error}"
        ) from error
    if not ok:
        raise ImageConversionError(f"{what}: OpenCV failed to write it as {extension}")
    return encoded.reshape(-1)


def _check_png_chunks(data: np.ndarray, what: str) -> None:
    """Refuse chunk lengths that overrun the data.

    OpenCV allocates whatever a chunk claims before finding the data missing: one damaged length
    field in a 300-byte message costs 2 GB of memory.
    """
    buffer = data.data  # a memoryview of the array's bytes
    offset = len(PNG_SIGNATURE)
    while offset + _CHUNK_HEAD.size <= len(buffer):
        length, kind = _CHUNK_HEAD.unpack_from(buffer, offset)
        available = len(buffer) - offset - _CHUNK_HEAD.size - 4
        if length > available:
            raise ImageConversionError(
                f"{what}: PNG chunk at byte {offset} claims {length} bytes, {available} follow"
            )
        if kind == b"IEND":
            return
        offset += _CHUNK_HEAD.size + length + 4
