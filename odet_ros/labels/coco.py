"""COCO object detection JSON: ``images``, ``annotations`` (``bbox`` = x, y, w, h in pixels
from the top-left corner) and ``categories``, as cocodataset.org/#format-data defines it.

Crowd regions (``iscrowd: 1``) are skipped (and counted): detectors do not train on them.
Category ids are written 1-based, as in COCO; any ids are read and mapped by name.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from odet_ros.labels.boxes import xywh_to_xyxy
from odet_ros.labels.errors import LabelFormatError
from odet_ros.labels.model import ImageLabels, LabelSet, normalised
from odet_ros.labels.source import LabelSource


def load_json(path: Path, where: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise LabelFormatError(
            f"{where}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})"
        ) from None
    except UnicodeDecodeError as error:
        raise LabelFormatError(f"{where}: not a UTF-8 text file ({error})") from None


def read_coco(source: LabelSource) -> LabelSet:
    path = source.one_file(".json")
    where = source.describe(path)
    data = load_json(path, where)
    try:
        return _parse(data, where)
    except (KeyError, TypeError, ValueError) as error:
        raise LabelFormatError(f"{where}: not a COCO detection file ({error!r})") from None


def _parse(data: object, where: str) -> LabelSet:
    if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= data.keys():
        raise LabelFormatError(f"{where}: a COCO file needs images, annotations and categories")
    categories = sorted(_objects(data, "categories", where), key=lambda c: int(c["id"]))
    names = [str(c["name"]) for c in categories]
    class_of = {int(c["id"]): i for i, c in enumerate(categories)}
    images = {int(i["id"]): i for i in _objects(data, "images", where)}
    boxes: dict[int, list[list[float]]] = {image_id: [] for image_id in images}
    classes: dict[int, list[int]] = {image_id: [] for image_id in images}
    labels = LabelSet(names, [])
    for annotation in _objects(data, "annotations", where):
        if annotation.get("iscrowd", 0):
            labels.skipped["crowd regions"] += 1
            continue
        image_id, category = int(annotation["image_id"]), int(annotation["category_id"])
        if image_id not in images:
            raise LabelFormatError(f"{where}: annotation {annotation.get('id')} has no image")
        if category not in class_of:
            raise LabelFormatError(
                f"{where}: annotation {annotation.get('id')} has category"
                f" {category}, which is not in categories"
            )
        bbox = [float(v) for v in annotation["bbox"]]
        if len(bbox) != 4:
            raise LabelFormatError(
                f"{where}: annotation {annotation.get('id')}: bbox needs 4 numbers"
            )
        boxes[image_id].append(bbox)
        classes[image_id].append(class_of[category])
    for image_id, image in images.items():
        width, height = int(image["width"]), int(image["height"])
        if width <= 0 or height <= 0:
            raise LabelFormatError(f"{where}: image {image['file_name']!r} has no size")
        xyxy = normalised(xywh_to_xyxy(np.array(boxes[image_id])), width, height)
        labels.images.append(
            ImageLabels(
                str(image["file_name"]), xyxy, np.array(classes[image_id], np.int64), width, height
            )
        )
    return labels


def _objects(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """``data[key]``, checked to be a list of JSON objects."""
    items = data[key]
    if not isinstance(items, list):
        raise LabelFormatError(f"{where}: {key} must be a list, not {type(items).__name__}")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise LabelFormatError(f"{where}: {key}[{index}] is not an object: {item!r:.40}")
    return items


def encode_coco(labels: LabelSet) -> dict[str, bytes]:
    """One ``annotations.json``; predictions carry a ``score`` per annotation."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, image in enumerate(labels.images, start=1):
        pixels = image.pixels()
        images.append(
            {
                "id": image_id,
                "file_name": PurePosixPath(image.name).name,
                "width": image.width,
                "height": image.height,
            }
        )
        sizes = pixels[:, 2:] - pixels[:, :2]
        scores = image.scores.tolist() if image.scores is not None else [None] * len(image)
        for corner, size, class_id, score in zip(
            pixels[:, :2].tolist(), sizes.tolist(), image.class_ids.tolist(), scores, strict=True
        ):
            annotation = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": class_id + 1,
                "bbox": [*corner, *size],
                "area": size[0] * size[1],
                "iscrowd": 0,
                "segmentation": [],
            }
            if score is not None:
                annotation["score"] = score
            annotations.append(annotation)
    categories = [
        {"id": i + 1, "name": name, "supercategory": ""} for i, name in enumerate(labels.names)
    ]
    document = {
        "info": {"description": "exported by odet", "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    return {"annotations.json": json.dumps(document, indent=1).encode()}
