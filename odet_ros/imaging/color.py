"""Colour conversion between encodings, with cv_bridge's answers.

cv_bridge (``toCvCopyImpl``/``getConversionCode``) first applies one cvtColor code chosen by the
(source layout, target layout) pair, then, if the bit depths differ, ``convertTo`` with a scale
of 255/65535 (16 to 8 bits) or 65535/255 (8 to 16 bits). Its Bayer names are OpenCV's shifted
ones: ``bayer_rggb`` is ``COLOR_BayerBG2*``. Encodings without colour meaning (16UC1, 32FC1 ...)
cannot be converted to a colour encoding, in cv_bridge as here.
"""

from __future__ import annotations

import cv2
import numpy as np

from odet_ros.imaging import encodings as enc
from odet_ros.imaging.errors import ImageConversionError


def _codes() -> dict[tuple[str, str], int]:
    """cv_bridge's getConversionCodes(), plus NV21/NV12, which humble's cv_bridge lacks."""
    codes: dict[tuple[str, str], int] = {}
    names = {enc.GRAY: "GRAY", enc.RGB: "RGB", enc.BGR: "BGR", enc.RGBA: "RGBA", enc.BGRA: "BGRA"}
    for source, source_name in names.items():
        for target, target_name in names.items():
            if source != target:
                codes[source, target] = getattr(cv2, f"COLOR_{source_name}2{target_name}")
    yuv = {enc.UYVY: "UYVY", enc.YUYV: "YUY2", enc.NV21: "NV21", enc.NV12: "NV12"}
    for source, suffix in yuv.items():
        for target, target_name in names.items():
            codes[source, target] = getattr(cv2, f"COLOR_YUV2{target_name}_{suffix}")
    bayer = {
        enc.BAYER_RGGB: "BG",
        enc.BAYER_BGGR: "RG",
        enc.BAYER_GBRG: "GR",
        enc.BAYER_GRBG: "GB",
    }
    for source, opencv_name in bayer.items():
        for target in (enc.GRAY, enc.RGB, enc.BGR):
            codes[source, target] = getattr(cv2, f"COLOR_Bayer{opencv_name}2{names[target]}")
    return codes


CONVERSION_CODES = _codes()


def convert_color(image: np.ndarray, source: enc.Encoding, target_name: str) -> np.ndarray:
    """``image`` (native layout of ``source``) in encoding ``target_name``, as cv_bridge does.

    Returns ``image`` itself when the encodings are the same.
    """
    if target_name == source.name:
        return image
    target = enc.ENCODINGS.get(target_name)
    if target is None or target.layout not in enc.TARGET_LAYOUTS:
        raise ImageConversionError(
            f"cannot convert {source.name!r} to {target_name!r}: the target must be one of "
            "mono8, rgb8, bgr8, rgba8, bgra8, mono16, rgb16, bgr16, rgba16, bgra16"
        )
    if source.layout is None:
        raise ImageConversionError(
            f"cannot convert {source.name!r} to {target_name!r}: {source.name} carries no colour "
            "information (cv_bridge refuses this too); read it with color=None"
        )
    try:
        if source.layout != target.layout:
            code = CONVERSION_CODES.get((source.layout, target.layout))
            if code is None:
                raise ImageConversionError(
                    f"cv_bridge has no conversion from {source.name!r} to {target_name!r}"
                )
            image = cv2.cvtColor(image, code)
        return _rescale(image, source.bits, target.bits)
    except cv2.error as error:
        raise ImageConversionError(
            f"OpenCV could not convert a {image.shape} {source.name!r} image to {target_name!r}: "
            f"{error}"
        ) from error


def _rescale(image: np.ndarray, source_bits: int, target_bits: int) -> np.ndarray:
    """cv_bridge's ``convertTo`` between 8 and 16 bits (rounded, saturated)."""
    if source_bits == target_bits:
        return image
    if source_bits == 16:
        # convertScaleAbs == convertTo(CV_8U, 255/65535) for unsigned input: |x| is x.
        return cv2.convertScaleAbs(image, alpha=255.0 / 65535.0)
    widened: np.ndarray = np.multiply(image, 257, dtype=np.uint16)  # 65535/255 == 257 exactly
    return widened
