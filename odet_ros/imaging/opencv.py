"""OpenCV's results with the numpy types the core uses.

OpenCV's type stubs give every image it returns as ``MatLike`` (any dtype); the functions that
feed it 8-bit images get 8-bit images back, and say so here, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from cv2.typing import MatLike


def uint8_image(image: MatLike) -> NDArray[np.uint8]:
    """An image OpenCV made from an 8-bit one (it keeps the depth), typed as such."""
    return cast("NDArray[np.uint8]", image)
