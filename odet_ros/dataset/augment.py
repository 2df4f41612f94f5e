"""`odet dataset augment`: N extra copies per image, with the labels moved consistently.

Per copy, drawn from a generator seeded by (seed, image name), so a copy is the same whatever
else is augmented: brightness (an added offset) and exposure (a gain), Gaussian blur, a random
crop (boxes and outlines cut to it; an object keeping less than ``min_visibility`` of its area
is dropped, an outline's box becomes the bounds of what is left of it) and a horizontal flip.
Geometry is whole-pixel cropping and mirroring, so boxes and outlines follow exactly.

OpenCV and numpy, not albumentations: albumentations 2.x pulls in opencv-python-headless next to
the opencv-python both profiles already have (two packages owning ``cv2``; on the robot profile
it would also lift OpenCV past the < 4.12 pin), and the project is no longer maintained; the
five transforms needed here are a few lines each.

Copies are named ``<stem>__aug<k>`` and recorded in the manifest with their source as
``origin`` and the source's group; by default only the train split is augmented, and the copies
are added to train.txt.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from odet_ros.atomic import write_bytes_atomic, write_text_atomic
from odet_ros.dataset.annotations import write_label_file
from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import (
    ManifestRow,
    derived_row,
    merge_rows,
    read_manifest,
    write_manifest,
)
from odet_ros.dataset.split import split_files
from odet_ros.imaging.opencv import uint8_image
from odet_ros.labels.boxes import clip_boxes
from odet_ros.labels.polygons import Polygon, bounds, clip_polygons
from odet_ros.labels.yolo import read_label_outlines

COPY_MARK = "__aug"


@dataclass(frozen=True)
class AugmentSettings:
    """Ranges of the random changes; a probability of 0 switches a change off."""

    brightness: float = 0.15  # offset up to +-this x 255
    exposure: float = 0.3  # gain within 1 +- this
    blur_probability: float = 0.3
    max_blur_sigma: float = 1.5  # pixels
    crop_probability: float = 0.5
    min_crop_scale: float = 0.6  # each side keeps at least this fraction
    flip_probability: float = 0.5
    min_visibility: float = 0.3  # a cropped box keeping less of its area is dropped

    def __post_init__(self) -> None:
        for name in ("blur_probability", "crop_probability", "flip_probability", "min_visibility"):
            if not 0 <= getattr(self, name) <= 1:
                raise DatasetError(f"augment {name} must be within 0-1")
        if not 0 < self.min_crop_scale <= 1:
            raise DatasetError("augment min_crop_scale must be within (0, 1]")


@dataclass(frozen=True)
class AugmentPlan:
    """The changes of one copy: crop window in pixels (x0, y0, x1, y1), then flip, then light."""

    crop: tuple[int, int, int, int]
    flip: bool
    gain: float
    bias: float
    blur_sigma: float


def draw_plan(
    rng: np.random.Generator, settings: AugmentSettings, width: int, height: int
) -> AugmentPlan:
    crop = (0, 0, width, height)
    if rng.random() < settings.crop_probability:
        scale = rng.uniform(settings.min_crop_scale, 1.0, size=2)
        crop_w, crop_h = max(1, round(width * scale[0])), max(1, round(height * scale[1]))
        x0 = int(rng.integers(0, width - crop_w + 1))
        y0 = int(rng.integers(0, height - crop_h + 1))
        crop = (x0, y0, x0 + crop_w, y0 + crop_h)
    flip = bool(rng.random() < settings.flip_probability)
    gain = float(rng.uniform(1 - settings.exposure, 1 + settings.exposure))
    bias = float(rng.uniform(-settings.brightness, settings.brightness) * 255)
    sigma = 0.0
    if rng.random() < settings.blur_probability:
        sigma = float(rng.uniform(0.3, settings.max_blur_sigma))
    return AugmentPlan(crop, flip, gain, bias, sigma)


def apply_geometry(image: NDArray[np.uint8], plan: AugmentPlan) -> NDArray[np.uint8]:
    """Crop and mirror: whole pixels, no resampling (a label mask follows exactly)."""
    x0, y0, x1, y1 = plan.crop
    image = image[y0:y1, x0:x1]
    return np.ascontiguousarray(image[:, ::-1] if plan.flip else image)


def apply_light(image: NDArray[np.uint8], plan: AugmentPlan) -> NDArray[np.uint8]:
    """Exposure, brightness and blur of an 8-bit image."""
    lit = cv2.convertScaleAbs(image, alpha=plan.gain, beta=plan.bias)
    if plan.blur_sigma > 0:
        lit = cv2.GaussianBlur(lit, (0, 0), plan.blur_sigma)
    return uint8_image(lit)


def transform_boxes(
    pixels: NDArray[np.float64], plan: AugmentPlan, min_visibility: float
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Pixel xyxy boxes in the copy's frame, and which boxes are kept."""
    x0, y0, x1, y1 = plan.crop
    clipped, keep = clip_boxes(pixels, (x0, y0, x1, y1), min_visibility)
    moved = clipped - np.array([x0, y0, x0, y0], np.float64)
    if plan.flip:
        width = x1 - x0
        moved = np.column_stack(
            [width - moved[:, 2], moved[:, 1], width - moved[:, 0], moved[:, 3]]
        )
    return moved, keep


def transform_outlines(
    polygons: list[Polygon], plan: AugmentPlan, min_visibility: float
) -> tuple[list[Polygon], NDArray[np.bool_]]:
    """Pixel outlines in the copy's frame (cut to the crop), and which outlines are kept."""
    x0, y0, x1, y1 = plan.crop
    clipped, keep = clip_polygons(polygons, (x0, y0, x1, y1), min_visibility)
    moved = [polygon - np.array([x0, y0], np.float64) for polygon in clipped]
    if plan.flip:
        moved = [np.column_stack([(x1 - x0) - p[:, 0], p[:, 1]]) for p in moved]
    return moved, keep


@dataclass
class AugmentReport:
    sources: int = 0
    copies: int = 0
    removed: int = 0  # copies of an earlier run replaced
    dropped_boxes: int = 0


def augment_dataset(
    dataset: Dataset,
    copies: int,
    settings: AugmentSettings | None = None,
    *,
    seed: int = 0,
    all_images: bool = False,
    progress: bool = False,
) -> AugmentReport:
    """Write ``copies`` augmented copies of each train image (every image with ``all_images``)."""
    settings = settings or AugmentSettings()
    if copies < 1:
        raise DatasetError(f"--copies must be >= 1, got {copies}")
    rows = {row.file: row for row in read_manifest(dataset.manifest_path)}
    sources = _sources(dataset, rows, all_images)
    report = AugmentReport(sources=len(sources))
    chosen = {path.name for path in sources}
    stale = [row for row in rows.values() if row.origin in chosen]
    for row in stale:
        dataset.image_path(row.file).unlink(missing_ok=True)
        dataset.label_path(row.file).unlink(missing_ok=True)
        del rows[row.file]
    report.removed = len(stale)
    augment = _Augmenter(dataset, copies, settings, seed, report)
    new_rows: list[ManifestRow] = []
    for path in tqdm(sources, desc="augment", unit="img", disable=not progress):
        new_rows.extend(augment(path, rows.get(path.name) or _stand_in_row(path.name)))
    write_manifest(dataset.manifest_path, merge_rows(rows.values(), new_rows))
    train = dataset.split_list("train")
    if train.is_file():
        removed = {str(dataset.image_path(row.file)) for row in stale}
        kept = [str(p) for p in split_files(dataset, "train") if str(p) not in removed]
        added = [str(dataset.image_path(row.file)) for row in new_rows]
        write_text_atomic(train, "".join(f"{p}\n" for p in sorted({*kept, *added})))
    return report


def _sources(dataset: Dataset, rows: dict[str, ManifestRow], all_images: bool) -> list[Path]:
    derived = {file for file, row in rows.items() if row.origin}
    if all_images:
        images = dataset.image_paths()
    else:
        images = split_files(dataset, "train")
        if not images:
            raise DatasetError(
                f"{dataset.root}: no train split to augment: run odet dataset split first,"
                " or pass --all"
            )
    return [p for p in images if p.name not in derived and COPY_MARK not in p.stem]


def _stand_in_row(file: str) -> ManifestRow:
    """A manifest row for an image that came from no bag (its own group, as split has it)."""
    return ManifestRow(file, "", "", 0, 0, 0, 0, "", f"image:{file}")


@dataclass
class _Augmenter:
    """Writes the copies of one image after another."""

    dataset: Dataset
    copies: int
    settings: AugmentSettings
    seed: int
    report: AugmentReport

    def __call__(self, path: Path, source_row: ManifestRow) -> list[ManifestRow]:
        read = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if read is None or read.dtype != np.uint8:
            raise DatasetError(f"{path}: not a readable 8-bit image (run odet dataset check)")
        image = uint8_image(read)
        height, width = image.shape[:2]
        label = self.dataset.label_path(path)
        labelled = label.is_file()
        class_ids, xyxy, polygons = (
            read_label_outlines(label)
            if labelled
            else (np.zeros(0, np.int64), np.zeros((0, 4)), None)
        )
        pixels = xyxy * np.array([width, height, width, height], np.float64)
        outlines = None if polygons is None else [p * [width, height] for p in polygons]
        rng = np.random.default_rng([self.seed, zlib.crc32(path.name.encode())])
        rows = []
        for copy in range(1, self.copies + 1):
            plan = draw_plan(rng, self.settings, width, height)
            out = apply_light(apply_geometry(image, plan), plan)
            moved, keep = transform_boxes(pixels, plan, self.settings.min_visibility)
            moved_outlines = None
            if outlines is not None:
                moved_outlines, keep = transform_outlines(
                    outlines, plan, self.settings.min_visibility
                )
                moved = bounds(moved_outlines)
            self.report.dropped_boxes += int((~keep).sum())
            file = f"{path.stem}{COPY_MARK}{copy}{path.suffix}"
            ok, data = cv2.imencode(path.suffix, out)
            if not ok:
                raise DatasetError(f"{path}: OpenCV cannot write {path.suffix} images")
            write_bytes_atomic(self.dataset.image_path(file), data.tobytes())
            out_h, out_w = out.shape[:2]
            if labelled:
                scale = np.array([out_w, out_h, out_w, out_h], np.float64)
                kept = None
                if moved_outlines is not None:
                    kept = [p / scale[:2] for p, k in zip(moved_outlines, keep, strict=True) if k]
                write_label_file(self.dataset, file, class_ids[keep], moved[keep] / scale, kept)
            rows.append(derived_row(source_row, file, out_w, out_h))
            self.report.copies += 1
        return rows
