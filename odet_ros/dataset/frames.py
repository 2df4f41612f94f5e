"""Which pixels of a camera message go into a dataset, and how they are stored.

Colour sources (RGB/BGR with or without alpha, YUV, Bayer) become 8-bit BGR, grey ones 8-bit
grey, 16-bit ones scaled to 8 bits as cv_bridge does: what detectors train on and what the live
node feeds them. Encodings without colour meaning (depth 16UC1/32FC1, generic nCn) are refused
with NoColourError, so that an export of "every image topic" passes over a depth camera.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

from odet_ros.dataset.errors import NoColourError
from odet_ros.imaging import ImageConversionError, compressed_to_numpy, to_numpy
from odet_ros.imaging import encodings as enc
from odet_ros.imaging.color import convert_color
from odet_ros.imaging.compressed import parse_format
from odet_ros.interfaces.protocols import is_compressed

if TYPE_CHECKING:
    from odet_ros.interfaces.protocols import CompressedImageMessage, ImageMessage

IMAGE_TYPES = frozenset({"sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage"})
IMAGE_FORMATS = {"jpg": ".jpg", "png": ".png"}


def source_encoding(msg: ImageMessage | CompressedImageMessage) -> str:
    """An Image's ``encoding`` or a CompressedImage's ``format``, for the manifest."""
    return str(msg.format) if is_compressed(msg) else str(msg.encoding)


def dataset_pixels(msg: ImageMessage | CompressedImageMessage) -> NDArray[np.uint8]:
    """The message as 8-bit BGR (H, W, 3), or 8-bit grey (H, W) for a mono source."""
    if is_compressed(msg):
        declared = parse_format(str(msg.format)).encoding
        if declared is None:  # a bare "jpeg"/"png": the payload says what it is
            return _payload_pixels(compressed_to_numpy(msg))
    else:
        declared = str(msg.encoding)
    layout = enc.lookup(declared).layout
    if layout is None:
        raise NoColourError(f"encoding {declared!r} is not a colour or grey picture")
    return to_numpy(msg, "mono8" if layout == enc.GRAY else "bgr8")


def _payload_pixels(image: NDArray[Any]) -> NDArray[np.uint8]:
    channels = 1 if image.ndim == 2 else image.shape[2]
    layout = {1: enc.GRAY, 3: enc.BGR, 4: enc.BGRA}.get(channels)
    if layout is None or image.dtype not in (np.uint8, np.uint16):
        raise NoColourError(f"a compressed {image.dtype} payload with {channels} channels")
    source = enc.color_encoding(layout, image.dtype.itemsize * 8)
    pixels = image if channels != 1 or image.ndim == 2 else image[:, :, 0]
    return convert_color(pixels, source, "mono8" if layout == enc.GRAY else "bgr8")


# the last bytes of a whole file: JPEG's end-of-image marker, PNG's IEND chunk with its CRC
_ENDINGS = {".jpg": b"\xff\xd9", ".png": b"IEND\xaeB`\x82"}


def is_complete_image(path: Path) -> bool:
    """Whether a JPEG or PNG file ends as a whole one does (a power cut can leave one cut or
    empty); any other suffix counts as complete."""
    ending = _ENDINGS.get(path.suffix.lower())
    if ending is None:
        return True
    with path.open("rb") as stream:
        size = stream.seek(0, 2)
        if size < len(ending):
            return False
        stream.seek(size - len(ending))
        return stream.read() == ending


def encode_image(pixels: NDArray[np.uint8], image_format: str, quality: int) -> bytes:
    """JPEG (``quality`` 1-100) or PNG bytes of BGR or grey pixels, as OpenCV writes them."""
    extension = IMAGE_FORMATS[image_format]
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if image_format == "jpg" else []
    ok, data = cv2.imencode(extension, pixels, params)
    if not ok:
        raise ImageConversionError(f"OpenCV could not encode a {pixels.shape} image as {extension}")
    return data.tobytes()
