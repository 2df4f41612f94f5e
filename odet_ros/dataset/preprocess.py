"""`odet dataset preprocess`: a new dataset with every image oriented, cropped and resized.

Order: auto-orient (turn the pixels as the EXIF orientation says, as labelling tools display
them), crop to a fixed window (pixels of the oriented image), resize (``letterbox``: the
detector's own letterbox geometry, Ultralytics', aspect ratio kept and padded with grey 114;
``stretch``: fill the size). Boxes and outlines follow (an outline cut by the crop, its box the
bounds of what is left); an object keeping less than ``min_visibility`` of its area after the
crop is dropped. The source
dataset is left untouched: the result goes to a new folder, with its manifest, split lists,
pre-label marks and data.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from odet_ros.atomic import write_bytes_atomic, write_text_atomic
from odet_ros.dataset.annotations import write_label_file
from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import read_manifest, write_manifest
from odet_ros.dataset.reader import SPLITS
from odet_ros.dataset.split import split_files
from odet_ros.detection.letterbox import PAD_VALUE, LetterboxGeometry
from odet_ros.imaging.opencv import uint8_image
from odet_ros.labels.boxes import clip_boxes
from odet_ros.labels.polygons import Polygon, bounds, clip_polygons
from odet_ros.labels.yolo import read_label_outlines

MODES = ("letterbox", "stretch")


@dataclass(frozen=True)
class PreprocessSettings:
    size: tuple[int, int] | None = None  # (width, height) of the output; None keeps the size
    mode: str = "letterbox"
    crop: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 in source pixels
    auto_orient: bool = True
    min_visibility: float = 0.3

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise DatasetError(f"resize mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.size is not None and min(self.size) < 1:
            raise DatasetError(f"output size must be positive, got {self.size}")
        if self.crop is not None and (self.crop[2] <= self.crop[0] or self.crop[3] <= self.crop[1]):
            raise DatasetError(f"crop window {self.crop} is empty (x0, y0, x1, y1)")


@dataclass(frozen=True)
class Resize:
    """Where the cropped image lands in the output: scale per axis, then offset (pixels)."""

    scale: tuple[float, float]
    offset: tuple[int, int]
    inner: tuple[int, int]  # (width, height) of the resized picture before padding
    size: tuple[int, int]  # (width, height) of the output


def plan_resize(width: int, height: int, settings: PreprocessSettings) -> Resize:
    if settings.size is None:
        return Resize((1.0, 1.0), (0, 0), (width, height), (width, height))
    out_w, out_h = settings.size
    if settings.mode == "stretch":
        return Resize((out_w / width, out_h / height), (0, 0), (out_w, out_h), (out_w, out_h))
    geometry = LetterboxGeometry.fit((height, width), (out_h, out_w))
    inner = (geometry.resized_hw[1], geometry.resized_hw[0])
    offset = (geometry.left, geometry.top)
    return Resize((inner[0] / width, inner[1] / height), offset, inner, (out_w, out_h))


def preprocess_image(
    image: NDArray[np.uint8],
    pixels: NDArray[np.float64],
    settings: PreprocessSettings,
    outlines: list[Polygon] | None = None,
) -> tuple[NDArray[np.uint8], NDArray[np.float64], NDArray[np.bool_], list[Polygon] | None]:
    """The processed image, its pixel xyxy boxes, which input boxes were kept, and the pixel
    outlines (all of them, moved; None without) where given: their boxes are their bounds."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = settings.crop or (0, 0, width, height)
    x0, x1 = max(0, min(x0, width)), max(0, min(x1, width))
    y0, y1 = max(0, min(y0, height)), max(0, min(y1, height))
    if x1 <= x0 or y1 <= y0:
        raise DatasetError(f"crop window {settings.crop} lies outside a {width}x{height} image")
    image = image[y0:y1, x0:x1]
    boxes, keep = clip_boxes(pixels, (x0, y0, x1, y1), settings.min_visibility)
    if outlines is not None:
        outlines, keep = clip_polygons(outlines, (x0, y0, x1, y1), settings.min_visibility)
        boxes = bounds(outlines)
    boxes = boxes - np.array([x0, y0, x0, y0], np.float64)
    resize = plan_resize(x1 - x0, y1 - y0, settings)
    if resize.inner != (x1 - x0, y1 - y0):
        shrinking = resize.inner[0] < x1 - x0
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        image = uint8_image(cv2.resize(image, resize.inner, interpolation=interpolation))
    if resize.inner != resize.size:
        left, top = resize.offset
        right = resize.size[0] - resize.inner[0] - left
        bottom = resize.size[1] - resize.inner[1] - top
        pad = (PAD_VALUE,) * (1 if image.ndim == 2 else image.shape[2])
        border = cv2.BORDER_CONSTANT
        image = uint8_image(cv2.copyMakeBorder(image, top, bottom, left, right, border, value=pad))
    sx, sy = resize.scale
    ox, oy = resize.offset
    boxes = boxes * np.array([sx, sy, sx, sy]) + np.array([ox, oy, ox, oy], np.float64)
    if outlines is not None:
        outlines = [(p - [x0, y0]) * [sx, sy] + [ox, oy] for p in outlines]
    return image, boxes, keep, outlines


@dataclass
class PreprocessReport:
    images: int = 0
    dropped_boxes: int = 0


def read_oriented(path: Path, auto_orient: bool) -> NDArray[np.uint8]:
    """An image as displayed (EXIF orientation applied) or as stored; grey stays grey."""
    flags = (
        cv2.IMREAD_ANYCOLOR if auto_orient else cv2.IMREAD_ANYCOLOR | cv2.IMREAD_IGNORE_ORIENTATION
    )
    image = cv2.imread(str(path), flags)
    if image is None:
        raise DatasetError(f"{path}: unreadable image (run odet dataset check)")
    return uint8_image(image)  # IMREAD_ANYCOLOR without IMREAD_ANYDEPTH reads 8 bits


def preprocess_dataset(
    source: Dataset, out: str | Path, settings: PreprocessSettings, progress: bool = False
) -> tuple[Dataset, PreprocessReport]:
    """Write the processed copy of ``source`` into the new dataset folder ``out``."""
    target_root = Path(out).expanduser().resolve()
    if target_root == source.root:
        raise DatasetError(f"{out}: preprocess writes a new dataset; choose another folder")
    if (target_root / "images").is_dir() and any((target_root / "images").iterdir()):
        raise DatasetError(f"{target_root}: already holds images; choose a new folder")
    target = Dataset.create(target_root)
    rows = {row.file: row for row in read_manifest(source.manifest_path)}
    report = PreprocessReport()
    new_rows = []
    for path in tqdm(source.image_paths(), desc="preprocess", unit="img", disable=not progress):
        image = read_oriented(path, settings.auto_orient)
        height, width = image.shape[:2]
        label = source.label_path(path)
        class_ids, xyxy, polygons = (
            read_label_outlines(label)
            if label.is_file()
            else (np.zeros(0, np.int64), np.zeros((0, 4)), None)
        )
        pixels = xyxy * np.array([width, height, width, height], np.float64)
        outlines = None if polygons is None else [p * [width, height] for p in polygons]
        out_image, boxes, keep, outlines = preprocess_image(image, pixels, settings, outlines)
        ok, data = cv2.imencode(path.suffix, out_image)
        if not ok:
            raise DatasetError(f"{path}: OpenCV cannot write {path.suffix} images")
        write_bytes_atomic(target.image_path(path.name), data.tobytes())
        out_h, out_w = out_image.shape[:2]
        if label.is_file():
            scale = np.array([out_w, out_h, out_w, out_h], np.float64)
            kept = None
            if outlines is not None:
                kept = [p / scale[:2] for p, k in zip(outlines, keep, strict=True) if k]
            write_label_file(target, path.name, class_ids[keep], boxes[keep] / scale, kept)
        report.dropped_boxes += int((~keep).sum())
        report.images += 1
        if path.name in rows:
            new_rows.append(replace(rows[path.name], width=out_w, height=out_h))
    write_manifest(target.manifest_path, new_rows)
    if source.prelabels_path.is_file():
        write_text_atomic(target.prelabels_path, source.prelabels_path.read_text(encoding="utf-8"))
    for split in SPLITS:
        files = split_files(source, split)
        if files:
            lines = "".join(f"{target.image_path(p.name)}\n" for p in files)
            write_text_atomic(target.split_list(split), lines)
    target.write_data_yaml(source.names())
    return target, report
