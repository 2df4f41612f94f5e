"""The sensor_msgs image encodings we read and write, and the numpy layout of each.

Names and meanings follow sensor_msgs/image_encodings.hpp; the colour layouts are the ones
cv_bridge converts between (its ``Encoding`` enum). ``yuv422`` is UYVY and ``yuv422_yuy2`` is YUYV,
as cv_bridge has them; ``uyvy`` and ``yuyv`` are the newer, explicit names for the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from odet_ros.imaging.errors import ImageConversionError

# Colour layouts (None: a generic OpenCV type such as 16UC1, which carries no colour meaning).
GRAY = "gray"
RGB = "rgb"
BGR = "bgr"
RGBA = "rgba"
BGRA = "bgra"
UYVY = "uyvy"
YUYV = "yuyv"
NV21 = "nv21"
NV12 = "nv12"
BAYER_RGGB = "bayer_rggb"
BAYER_BGGR = "bayer_bggr"
BAYER_GBRG = "bayer_gbrg"
BAYER_GRBG = "bayer_grbg"

# Layouts cv_bridge can convert *to*: the targets of image_to_numpy's ``color`` argument.
TARGET_LAYOUTS = frozenset({GRAY, RGB, BGR, RGBA, BGRA})
# Layouts image_transport calls "colour" (isColor): compressed as bgr, not mono.
RGB_FAMILY = frozenset({RGB, BGR, RGBA, BGRA})


@dataclass(frozen=True)
class Encoding:
    """One encoding: how its bytes map to a numpy array of shape (rows, width[, channels])."""

    name: str
    dtype: np.dtype  # of one sample, in the host's byte order
    channels: int  # samples per pixel in the native array (2 for the packed YUV 4:2:2 forms)
    layout: str | None
    planar_420: bool = False  # NV21/NV12: a full-size Y plane, then a half-height chroma plane
    block: tuple[int, int] = (1, 1)  # width and height must be multiples of these

    @property
    def pixel_bytes(self) -> int:
        return self.channels * self.dtype.itemsize

    @property
    def bits(self) -> int:
        return self.dtype.itemsize * 8

    def rows(self, height: int) -> int:
        """Rows of ``step`` bytes that an image of this height occupies in ``data``."""
        return height * 3 // 2 if self.planar_420 else height

    def shape(self, rows: int, width: int) -> tuple[int, ...]:
        return (rows, width) if self.channels == 1 else (rows, width, self.channels)


def _table() -> dict[str, Encoding]:
    u8, u16 = np.dtype(np.uint8), np.dtype(np.uint16)
    encodings = [
        Encoding("mono8", u8, 1, GRAY),
        Encoding("mono16", u16, 1, GRAY),
        Encoding("rgb8", u8, 3, RGB),
        Encoding("bgr8", u8, 3, BGR),
        Encoding("rgba8", u8, 4, RGBA),
        Encoding("bgra8", u8, 4, BGRA),
        Encoding("rgb16", u16, 3, RGB),
        Encoding("bgr16", u16, 3, BGR),
        Encoding("rgba16", u16, 4, RGBA),
        Encoding("bgra16", u16, 4, BGRA),
        Encoding("yuv422", u8, 2, UYVY, block=(2, 1)),
        Encoding("uyvy", u8, 2, UYVY, block=(2, 1)),
        Encoding("yuv422_yuy2", u8, 2, YUYV, block=(2, 1)),
        Encoding("yuyv", u8, 2, YUYV, block=(2, 1)),
        Encoding("nv21", u8, 1, NV21, planar_420=True, block=(2, 2)),
        Encoding("nv12", u8, 1, NV12, planar_420=True, block=(2, 2)),
    ]
    for pattern in (BAYER_RGGB, BAYER_BGGR, BAYER_GBRG, BAYER_GRBG):
        encodings.append(Encoding(f"{pattern}8", u8, 1, pattern))
        encodings.append(Encoding(f"{pattern}16", u16, 1, pattern))
    depths = {"8U": "u1", "8S": "i1", "16U": "u2", "16S": "i2"}
    depths |= {"32S": "i4", "32F": "f4", "64F": "f8"}
    for depth, dtype in depths.items():
        for channels in (1, 2, 3, 4):
            encodings.append(Encoding(f"{depth}C{channels}", np.dtype(dtype), channels, None))
    return {encoding.name: encoding for encoding in encodings}


ENCODINGS: dict[str, Encoding] = _table()


def lookup(name: str) -> Encoding:
    """The encoding called ``name``, or an ImageConversionError listing the known ones."""
    encoding = ENCODINGS.get(name)
    if encoding is None:
        raise ImageConversionError(
            f"unknown image encoding {name!r}; known: {', '.join(sorted(ENCODINGS))}"
        )
    return encoding


def color_encoding(layout: str, bits: int) -> Encoding:
    """The gray/rgb/bgr/rgba/bgra encoding of this layout and bit depth (8 or 16)."""
    names = {GRAY: "mono", RGB: "rgb", BGR: "bgr", RGBA: "rgba", BGRA: "bgra"}
    return ENCODINGS[f"{names[layout]}{bits}"]
