"""How alike two frames look: enough to keep the frames of one place together in a split, and to
find near twins that would leak from train into val or test.

- ``view_signature``: a colour histogram (8x8x8 bins of CIELAB over a 64x48 thumbnail), compared
  with the Bhattacharyya distance. It ignores where things are in the frame, so a robot panning
  or driving slowly through one place keeps a close signature, while another room, another
  floor or another light differs. On the bundled sample's captured frames (one a second),
  frames of one place are 0.10-0.37 apart and frames of different places 0.40 and more.
- ``twin_signature``, ``twin_thumbnail`` and ``aligned_difference``: near twins, the same view
  give or take a small pan or a change of exposure. The signature with the exposure taken out
  picks the pairs worth comparing; their 64x48 grey thumbnails (mean removed) are aligned by the
  best shift (phase correlation) and compared: the mean grey difference where they overlap.
  Near twins differ by less than ``NEAR_TWIN``; on the sample, frames of different places differ
  by 19 and more, and the closest frames of one place by 4.5.
- ``file_twin_view``: both, from an image file as the dataset stores it (8 or 16 bits), for
  `odet dataset check` and the export's groups by place, which must agree on what a twin is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from odet_ros.imaging.opencv import as_bgr, uint8_image

SIGNATURE_SIZE = (64, 48)
SIGNATURE_BINS = 8
SAME_VIEW = 0.4  # view distance under which two frames show one place
THUMBNAIL_SIZE = (64, 48)
NEAR_TWIN = 12.0  # aligned mean grey difference (0-255) under which two frames are near twins
MIN_OVERLAP = 0.5  # aligned thumbnails must still overlap this much to be compared
SIGNATURE_PAIRS_AT_ONCE = 50_000_000  # signature values compared per step

TwinView = tuple[NDArray[np.float32], NDArray[np.float32]]  # twin signature, thumbnail


def view_signature(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    """The frame's colour histogram, summing to 1 (BGR, grey or BGRA 8-bit input)."""
    return _lab_histogram(_small_lab(image))


def twin_signature(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    """The colour histogram with the frame's mean lightness moved to mid-grey: a change of
    exposure, which does not make a frame any less a twin, barely moves it."""
    lab = _small_lab(image).astype(np.float32)
    lab[..., 0] += 128.0 - float(lab[..., 0].mean())
    return _lab_histogram(np.clip(lab, 0, 255))


def _small_lab(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    small = cv2.resize(as_bgr(image), SIGNATURE_SIZE, interpolation=cv2.INTER_AREA)
    return uint8_image(cv2.cvtColor(small, cv2.COLOR_BGR2LAB))


def _lab_histogram(lab: NDArray[np.uint8] | NDArray[np.float32]) -> NDArray[np.float32]:
    bins = [SIGNATURE_BINS] * 3
    histogram = cv2.calcHist([lab], [0, 1, 2], None, bins, [0, 256] * 3).ravel()
    signature: NDArray[np.float32] = (histogram / max(float(histogram.sum()), 1.0)).astype(
        np.float32
    )
    return signature


def view_distances(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    """Bhattacharyya distances (Q, R) between signatures (Q, S) and (R, S): 0 for identical
    colours, 1 for none in common."""
    overlap = np.sqrt(a) @ np.sqrt(b).T
    distances: NDArray[np.float32] = np.sqrt(np.clip(1.0 - overlap, 0.0, 1.0))
    return distances


def view_distance(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    return float(view_distances(a[None], b[None])[0, 0])


def twin_thumbnail(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    """The frame as a small grey thumbnail, its mean removed."""
    grey = image if image.ndim == 2 else cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    centred: NDArray[np.float32] = small - np.float32(small.mean())
    return centred


def file_twin_view(path: Path) -> TwinView | None:
    """An image file's twin view; None if OpenCV cannot read it as 8 or 16 bits."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return None if image is None else decoded_twin_view(image)


def decoded_twin_view(image: NDArray[Any]) -> TwinView | None:
    """The twin view of a decoded image file (16 bits compared at 8); None for other depths."""
    scale = {np.dtype(np.uint8): 1.0, np.dtype(np.uint16): 1 / 257}.get(image.dtype)
    if scale is None:
        return None
    pixels = uint8_image(cv2.convertScaleAbs(image, alpha=scale))
    return twin_signature(pixels), twin_thumbnail(pixels)


def aligned_difference(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Mean absolute difference of two thumbnails where they overlap once aligned by the best
    shift; inf when the shift leaves less than half of them overlapping."""
    (dx, dy), _ = cv2.phaseCorrelate(a, b)
    width, height = THUMBNAIL_SIZE
    shift = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    moved = cv2.warpAffine(a, shift, (width, height))
    overlap = cv2.warpAffine(np.ones_like(a), shift, (width, height)) > 0.99
    if overlap.mean() < MIN_OVERLAP:
        return float("inf")
    return float(np.abs(moved[overlap] - b[overlap]).mean())


def near_twins(
    queries: tuple[NDArray[np.float32], NDArray[np.float32]],
    references: tuple[NDArray[np.float32], NDArray[np.float32]],
    threshold: float = NEAR_TWIN,
) -> list[tuple[int, int, float]]:
    """(query, reference, difference) for each query whose closest reference is a near twin.

    Both are (twin signatures (N, S), thumbnails (N, h, w)); only pairs of one place (distance
    under SAME_VIEW) are aligned and compared, which keeps large datasets fast."""
    query_views, query_thumbs = queries
    reference_views, reference_thumbs = references
    if not len(query_views) or not len(reference_views):
        return []
    step = max(1, SIGNATURE_PAIRS_AT_ONCE // max(reference_views.size, 1))
    found = []
    for start in range(0, len(query_views), step):
        close = view_distances(query_views[start : start + step], reference_views) < SAME_VIEW
        for offset, candidates in enumerate(close):
            query = start + offset
            differences = [
                (aligned_difference(reference_thumbs[j], query_thumbs[query]), j)
                for j in np.flatnonzero(candidates).tolist()
            ]
            best = min(differences, default=(float("inf"), -1))
            if best[0] < threshold:
                found.append((query, best[1], best[0]))
    return found
