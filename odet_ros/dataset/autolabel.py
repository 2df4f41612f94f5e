"""`odet label`: pre-labels from an existing model, and the packages labelling tools import.

Every image without a reviewed label file is run through the detection core (bundle, .pt,
.onnx, .tflite: whatever ``load_detector`` opens); boxes above the confidence threshold become
its YOLO label file, marked in prelabels.json with their scores; a segmentation model's masks
become outlines (YOLO-seg rows, Label Studio polygons: traced along the mask's pixels). Label
files a person made (not in prelabels.json) are left alone unless ``overwrite``. Then
``labelling/`` gets the hand-off packages: Label Studio tasks (pre-labels as ``predictions``
with scores and model_version) with its labelling config, a CVAT YOLO 1.1 zip and a COCO JSON
(CVAT and Roboflow import both).
Without a model only the packages are written, from the pre-labels the dataset already holds
(a capture the deployed model selected arrives pre-labelled by that model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from odet_ros.dataset.annotations import write_label_file
from odet_ros.dataset.label_export import export_labels
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.labels.labelstudio import LOCAL_FILES
from odet_ros.labels.polygons import Polygon, merge_parts

if TYPE_CHECKING:
    from odet_ros.detection.detector import Detector

BATCH = 32  # images whose marks are saved before their label files are written
PACKAGES = {
    "labelstudio": "labelstudio",
    "yolo1.1": "cvat_yolo1.1.zip",
    "coco": "coco.json",
}


@dataclass
class PrelabelReport:
    images: int = 0
    labelled: int = 0
    kept_reviewed: int = 0  # images with a person's labels, left alone
    boxes: int = 0
    unreadable: list[str] = field(default_factory=list)
    added_classes: list[str] = field(default_factory=list)
    packages: list[Path] = field(default_factory=list)


def prelabel_dataset(
    dataset: Dataset,
    model: str | Path | None,
    *,
    conf: float = 0.25,
    iou: float = 0.7,
    imgsz: int | None = None,
    device: str = "cpu",
    overwrite: bool = False,
    image_prefix: str = LOCAL_FILES,
    progress: bool = False,
) -> PrelabelReport:
    """Pre-label ``dataset`` with ``model`` (None: keep the pre-labels it has) and write the
    labelling packages."""
    from odet_ros.detection.detector import load_detector

    report = PrelabelReport()
    if model is None:
        models = {str(entry.get("model", "")) for entry in Prelabels.load(dataset).entries.values()}
        version = models.pop() if len(models) == 1 else "odet"  # the model that pre-labelled
        report.packages = write_packages(dataset, image_prefix, version or "odet")
        return report
    detector = load_detector(model, device=device, imgsz=imgsz, conf=conf, iou=iou)
    model_version = Path(str(model)).name
    prelabels = Prelabels.load(dataset)
    todo = []
    for image in dataset.image_paths():
        label = dataset.label_path(image)
        if label.is_file() and label.name not in prelabels and not overwrite:
            report.kept_reviewed += 1
        else:
            todo.append(image)
    report.images = len(todo)
    names = dataset.names()
    lookup = np.array([_class_index(names, name, report) for name in detector.names], np.int64)
    if not todo:  # nothing to label: the dataset's classes stay as they are
        report.added_classes.clear()
    elif report.added_classes:
        dataset.write_data_yaml(names)
    with tqdm(total=len(todo), desc="label", unit="img", disable=not progress) as bar:
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            results = [_detect(detector, path, lookup, report) for path in batch]
            done = [(path, r) for path, r in zip(batch, results, strict=True) if r is not None]
            for path, found in done:
                prelabels.mark(dataset.label_path(path).name, model_version, found[2].tolist())
            prelabels.save()  # marks first: a crash never leaves a model's labels unmarked
            for path, (class_ids, xyxy, _, polygons) in done:
                write_label_file(dataset, path.name, class_ids, xyxy, polygons)
                report.boxes += len(class_ids)
            report.labelled += len(done)
            bar.update(len(batch))
    report.packages = write_packages(dataset, image_prefix, model_version)
    return report


def write_packages(dataset: Dataset, image_prefix: str, model_version: str) -> list[Path]:
    """``labelling/``: the Label Studio, CVAT and COCO hand-off packages of the labels as they
    are."""
    folder = dataset.root / "labelling"
    written: list[Path] = []
    for format_name, name in PACKAGES.items():
        written += export_labels(
            dataset, format_name, folder / name, image_prefix=image_prefix,
            model_version=model_version,
        )  # fmt: skip
    return written


def _class_index(names: list[str], name: str, report: PrelabelReport) -> int:
    """The dataset's index of a model class name, appended to ``names`` if new."""
    if name not in names:
        names.append(name)
        report.added_classes.append(name)
    return names.index(name)


def _detect(
    detector: Detector, path: Path, lookup: NDArray[np.int64], report: PrelabelReport
) -> (
    tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], list[Polygon] | None] | None
):
    """Class ids (dataset's), normalised xyxy boxes, scores and (a segmentation model's)
    normalised outlines of one image."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        report.unreadable.append(path.name)
        return None
    found = detector.detect(image, "bgr8")
    height, width = image.shape[:2]
    xyxy = np.clip(found.xyxy / np.array([width, height, width, height], np.float64), 0.0, 1.0)
    polygons = None
    if found.masks is not None:
        scale = np.array([width, height], np.float64)
        outlines = [merge_parts(found.masks.outline(i)) for i in range(len(found))]
        polygons = [np.clip(outline / scale, 0.0, 1.0) for outline in outlines]
    return lookup[found.class_ids], xyxy, found.scores.astype(np.float64), polygons
