"""COCO object detection JSON: ``images``, ``annotations`` (``bbox`` = x, y, w, h in pixels
from the top-left corner; ``segmentation`` = polygons ``[[x1, y1, x2, y2, ...], ...]`` in pixels,
or a run-length encoded mask) and ``categories``, as cocodataset.org/#format-data defines it.

An object's polygons (several when something cuts it in two) become one outline; an RLE mask
becomes its traced outline (holes are not kept). Crowd regions (``iscrowd: 1``) are skipped (and
counted): detectors do not train on them. Category ids are written 1-based, as in COCO; any ids
are read and mapped by name. Outlines are written as one polygon per object.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from odet_ros.labels.boxes import xywh_to_xyxy
from odet_ros.labels.errors import LabelFormatError
from odet_ros.labels.model import ImageLabels, LabelSet, normalised, outlined
from odet_ros.labels.polygons import Polygon, area, as_polygon, mask_outline, merge_parts
from odet_ros.labels.rle import decode_coco_rle
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
    outlines: dict[int, list[Polygon | None]] = {image_id: [] for image_id in images}
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
        outlines[image_id].append(
            _outline(annotation.get("segmentation"), f"{where}: annotation {annotation.get('id')}")
        )
        classes[image_id].append(class_of[category])
    for image_id, image in images.items():
        width, height = int(image["width"]), int(image["height"])
        if width <= 0 or height <= 0:
            raise LabelFormatError(f"{where}: image {image['file_name']!r} has no size")
        scale = np.array([width, height], np.float64)
        xyxy, polygons = outlined(
            normalised(xywh_to_xyxy(np.array(boxes[image_id])), width, height),
            [None if p is None else p / scale for p in outlines[image_id]],
        )
        ids = np.array(classes[image_id], np.int64)
        name = str(image["file_name"])
        labels.images.append(ImageLabels(name, xyxy, ids, width, height, polygons=polygons))
    return labels


def _outline(segmentation: object, where: str) -> Polygon | None:
    """An annotation's outline in pixels, or None where it has no segmentation."""
    if isinstance(segmentation, dict):
        outline = mask_outline(decode_coco_rle(segmentation, where))
        if not len(outline):
            raise LabelFormatError(f"{where}: its RLE mask is empty")
        return outline
    if not segmentation:
        return None
    if not isinstance(segmentation, list):
        raise LabelFormatError(f"{where}: segmentation must be polygons or RLE")
    parts = segmentation if isinstance(segmentation[0], list) else [segmentation]
    polygons = []
    for part in parts:
        if not isinstance(part, list) or len(part) < 6 or len(part) % 2:
            raise LabelFormatError(
                f"{where}: a segmentation polygon needs x, y pairs, three or more: {part!r:.60}"
            )
        polygon = as_polygon([float(v) for v in part])
        if not np.isfinite(polygon).all():
            raise LabelFormatError(f"{where}: a segmentation polygon holds a non-finite number")
        polygons.append(polygon)
    return merge_parts(polygons)


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
        outlines = image.pixel_polygons() if image.polygons is not None else [None] * len(image)
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
        for corner, size, class_id, score, outline in zip(
            pixels[:, :2].tolist(),
            sizes.tolist(),
            image.class_ids.tolist(),
            scores,
            outlines,
            strict=True,
        ):
            annotation = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": class_id + 1,
                "bbox": [*corner, *size],
                "area": size[0] * size[1] if outline is None else area(outline),
                "iscrowd": 0,
                "segmentation": [] if outline is None else [outline.ravel().tolist()],
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
