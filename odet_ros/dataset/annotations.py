"""A dataset's labels as a LabelSet (for exports) and label files written back (for imports)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from odet_ros.atomic import write_text_atomic
from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import read_manifest
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.labels.model import ImageLabels, LabelSet
from odet_ros.labels.polygons import Polygon
from odet_ros.labels.yolo import format_yolo, read_label_outlines


def image_sizes(
    dataset: Dataset, images: list[Path], progress: bool = False
) -> dict[str, tuple[int, int]]:
    """(width, height) per image file name: from the manifest, else by reading the image."""
    known = {row.file: (row.width, row.height) for row in read_manifest(dataset.manifest_path)}
    sizes: dict[str, tuple[int, int]] = {}
    for path in tqdm(images, desc="sizes", unit="img", disable=not progress):
        if path.name in known:
            sizes[path.name] = known[path.name]
            continue
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise DatasetError(f"{path}: unreadable image (run odet dataset check)")
        sizes[path.name] = (image.shape[1], image.shape[0])
    return sizes


def read_dataset_labels(dataset: Dataset, progress: bool = False) -> LabelSet:
    """Every image of the dataset with its boxes (and outlines); images without a label file are
    ``labelled=False``, model-written ones ``predicted`` with their scores."""
    images = dataset.image_paths()
    sizes = image_sizes(dataset, images, progress)
    prelabels = Prelabels.load(dataset)
    names = dataset.names()
    labels = LabelSet(names, [])
    for path in images:
        width, height = sizes[path.name]
        label_path = dataset.label_path(path)
        if not label_path.is_file():
            labels.images.append(
                ImageLabels(
                    path.name,
                    np.zeros((0, 4)),
                    np.zeros(0, np.int64),
                    width,
                    height,
                    labelled=False,
                )
            )
            continue
        class_ids, xyxy, polygons = read_label_outlines(label_path)
        if len(class_ids) and class_ids.max() >= len(names):
            raise DatasetError(
                f"{label_path}: class {class_ids.max()} but data.yaml has {len(names)} names"
            )
        scores = prelabels.scores(label_path.name)
        predicted = scores is not None and len(scores) == len(class_ids)
        labels.images.append(
            ImageLabels(
                path.name,
                xyxy,
                class_ids,
                width,
                height,
                scores=np.array(scores) if predicted else None,
                predicted=predicted,
                polygons=polygons,
            )
        )
    return labels


def write_label_file(
    dataset: Dataset,
    image_file: str,
    class_ids: NDArray[np.int64],
    xyxy: NDArray[np.float64],
    polygons: list[Polygon] | None = None,
) -> Path:
    """The label file of ``image_file`` (normalised xyxy boxes, or outlines where given),
    written atomically."""
    path = dataset.label_path(image_file)
    path.parent.mkdir(exist_ok=True)
    write_text_atomic(path, format_yolo(class_ids, xyxy, polygons))
    return path
