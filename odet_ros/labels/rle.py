"""Pixel masks as the tools store them, and polygons rasterised the way COCO scores them.

- COCO run-length encoding (cocodataset.org/#format-data): ``{"size": [h, w], "counts": ...}``,
  runs of 0s and 1s in column-major order starting with 0s, ``counts`` a list of integers
  (uncompressed) or pycocotools' compressed string (LEB128-like, 6 bits a character from
  ASCII 48, each count after the second stored as its difference from the one two before).
- Label Studio brush results (``"format": "rle"``): thi.ng's rle-pack bit stream of the RGBA
  bytes of the whole image, the alpha channel being the mask.
- :func:`polygon_mask`: the pixels pycocotools' ``frPyObjects`` gives a polygon (its
  ``rleFrPoly``: the outline traced at 5x, each pixel column filled between the crossings), so
  that mask scores computed here are COCOeval's on the same polygons.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from odet_ros.labels.errors import LabelFormatError

Mask = NDArray[np.bool_]
COCO_SCALE = 5.0  # pycocotools traces a polygon's outline at this upsampling


def rle_counts(mask: Mask) -> list[int]:
    """COCO's uncompressed counts of a (h, w) mask: runs in column-major order, 0s first."""
    flat = np.asarray(mask, bool).ravel(order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(edges).tolist()
    return [0, *runs] if flat.size and flat[0] else runs


def encode_counts(counts: Sequence[int]) -> str:
    """pycocotools' compressed string of uncompressed counts."""
    out = []
    for index, count in enumerate(counts):
        value = int(count) - (int(counts[index - 2]) if index > 2 else 0)
        more = True
        while more:
            chunk = value & 0x1F
            value >>= 5
            more = value != -1 if chunk & 0x10 else value != 0
            out.append(chr((chunk | 0x20 if more else chunk) + 48))
    return "".join(out)


def decode_counts(text: str) -> list[int]:
    """Uncompressed counts of pycocotools' compressed string."""
    counts: list[int] = []
    position = 0
    while position < len(text):
        value = shift = 0
        more = True
        while more:
            if position >= len(text):
                raise ValueError("compressed counts end inside a number")
            chunk = ord(text[position]) - 48
            if not 0 <= chunk < 64:
                raise ValueError(f"character {text[position]!r} is not in a compressed count")
            value |= (chunk & 0x1F) << shift
            more = bool(chunk & 0x20)
            position += 1
            shift += 5
            if not more and chunk & 0x10:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def decode_coco_rle(segmentation: dict[str, object], where: str) -> Mask:
    """The (h, w) mask of a COCO RLE segmentation (either form of counts)."""
    try:
        height, width = (int(v) for v in segmentation["size"])  # type: ignore[attr-defined]
        counts = segmentation["counts"]
        runs = decode_counts(counts) if isinstance(counts, str) else [int(c) for c in counts]  # type: ignore[attr-defined]
    except (KeyError, TypeError, ValueError) as error:
        raise LabelFormatError(f"{where}: not a COCO RLE segmentation ({error!r})") from None
    if height <= 0 or width <= 0 or any(r < 0 for r in runs) or sum(runs) != height * width:
        raise LabelFormatError(
            f"{where}: RLE counts cover {sum(runs)} pixels, not {height}x{width}"
        )
    values = np.arange(len(runs)) % 2 == 1
    flat: Mask = np.repeat(values, runs)
    return np.ascontiguousarray(flat.reshape((width, height)).T)


def decode_brush(rle: Sequence[int], width: int, height: int) -> Mask:
    """The (height, width) mask of a Label Studio brush result (alpha above 0); ValueError
    for a stream that is not one, or not of this size."""
    data = np.asarray(rle, np.int64)
    if data.ndim != 1 or (data < 0).any() or (data > 255).any():
        raise ValueError("a brush rle must be a list of bytes")
    values = _unpack_rle(np.unpackbits(data.astype(np.uint8)))
    if values.size != width * height * 4:
        raise ValueError(f"the brush rle holds {values.size} values, not {width}x{height} RGBA")
    return values.reshape(height, width, 4)[:, :, 3] > 0


class _Bits:
    """Reads unsigned big-endian integers off a bit array."""

    def __init__(self, bits: NDArray[np.uint8]) -> None:
        self.bits, self.position = bits, 0

    def read(self, size: int) -> int:
        end = self.position + size
        if end > self.bits.size:
            raise ValueError("the bit stream ends early")
        value = 0
        for bit in self.bits[self.position : end].tolist():
            value = (value << 1) | bit
        self.position = end
        return value


def _unpack_rle(bits: NDArray[np.uint8]) -> NDArray[np.uint8]:
    stream = _Bits(bits)
    total = stream.read(32)
    word = stream.read(5) + 1
    run_sizes = [stream.read(4) + 1 for _ in range(4)]
    out = np.zeros(total, np.uint8)
    index = 0
    while index < total:
        repeated = stream.read(1)
        end = index + 1 + stream.read(run_sizes[stream.read(2)])
        if end > total:
            raise ValueError("a run passes the end of the image")
        if repeated:
            out[index:end] = stream.read(word)
            index = end
        else:
            for position in range(index, end):
                out[position] = stream.read(word)
            index = end
    return out


def polygon_mask(polygon: NDArray[np.float64], height: int, width: int) -> Mask:
    """The pixels COCO gives a polygon in pixel coordinates, as pycocotools rasterises it."""
    scaled = np.trunc(COCO_SCALE * np.asarray(polygon, np.float64).reshape(-1, 2) + 0.5)
    x = np.append(scaled[:, 0], scaled[:1, 0]).astype(np.int64)
    y = np.append(scaled[:, 1], scaled[:1, 1]).astype(np.int64)
    us, vs = [], []
    for j in range(len(x) - 1):
        u, v = _edge_points(int(x[j]), int(y[j]), int(x[j + 1]), int(y[j + 1]))
        us.append(u)
        vs.append(v)
    mask = np.zeros(height * width + 1, np.int64)
    if us:
        u, v = np.concatenate(us), np.concatenate(vs)
        step = np.flatnonzero(u[1:] != u[:-1]) + 1
        column = (np.where(u[step] < u[step - 1], u[step], u[step] - 1) + 0.5) / COCO_SCALE - 0.5
        row = (np.minimum(v[step], v[step - 1]) + 0.5) / COCO_SCALE - 0.5
        keep = (np.floor(column) == column) & (column >= 0) & (column <= width - 1)
        rows = np.ceil(np.clip(row[keep], 0, height)).astype(np.int64)
        np.add.at(mask, column[keep].astype(np.int64) * height + rows, 1)
    filled: Mask = (np.cumsum(mask[:-1]) % 2).astype(bool)
    return np.ascontiguousarray(filled.reshape(width, height).T)


def _edge_points(xs: int, ys: int, xe: int, ye: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The 5x-grid points of one edge, from its start to its end (pycocotools' stepping)."""
    dx, dy = abs(xe - xs), abs(ys - ye)
    flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
    if flip:
        xs, xe, ys, ye = xe, xs, ye, ys
    if dx >= dy:
        t = np.arange(dx + 1)
        t = dx - t if flip else t
        slope = (ye - ys) / dx if dx else 0.0
        return t + xs, np.trunc(ys + slope * t + 0.5).astype(np.int64)
    t = np.arange(dy + 1)
    t = dy - t if flip else t
    slope = (xe - xs) / dy
    return np.trunc(xs + slope * t + 0.5).astype(np.int64), t + ys
