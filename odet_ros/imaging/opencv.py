"""OpenCV's results with the numpy types the core uses.

OpenCV's type stubs give every image it returns as ``MatLike`` (any dtype); the functions that
feed it 8-bit images get 8-bit images back, and say so here, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import cv2
import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from cv2.typing import MatLike


def uint8_image(image: MatLike) -> NDArray[np.uint8]:
    """An image OpenCV made from an 8-bit one (it keeps the depth), typed as such."""
    return cast("NDArray[np.uint8]", image)


def as_bgr(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Grey or BGRA 8-bit images (some cameras give them) as BGR; BGR as it is."""
    if image.ndim == 2 or image.shape[2] == 1:
        return uint8_image(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    if image.shape[2] == 4:
        return uint8_image(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR))
    return image
