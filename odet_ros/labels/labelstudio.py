"""Label Studio JSON: a list of tasks, each ``data.image`` plus ``annotations`` (people's) and
``predictions`` (a model's), whose ``rectanglelabels`` results give x, y, width, height in
percent of the image, ``polygonlabels`` results ``points`` ([x, y] pairs in percent) and
``brushlabels`` results a painted mask (``"format": "rle"``, see :mod:`odet_ros.labels.rle`)
(labelstud.io/guide/export#Label-Studio-JSON-format-of-annotated-tasks).

Reading takes each task's ground-truth annotation, else its latest, and never predictions;
a box rotated in Label Studio (about its top-left corner) is read as its axis-aligned bounds;
a brush mask becomes its traced outline. Outlines are written as ``polygonlabels``.
Images uploaded to Label Studio get an 8-hex-digit prefix (``/data/upload/1/1a2b3c4d-x.jpg``),
removed here so that names match the dataset's.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np

from odet_ros.labels.boxes import rotated_bounds
from odet_ros.labels.coco import load_json
from odet_ros.labels.errors import LabelFormatError
from odet_ros.labels.model import ImageLabels, LabelSet, normalised, outlined
from odet_ros.labels.polygons import MIN_POINTS, Polygon, as_polygon, bounds, mask_outline
from odet_ros.labels.rle import decode_brush
from odet_ros.labels.source import LabelSource
from odet_ros.labels.xml_files import to_bytes

RECTANGLE = "rectanglelabels"
POLYGON = "polygonlabels"
BRUSH = "brushlabels"
UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")
LOCAL_FILES = "/data/local-files/?d=images/"  # Label Studio's local storage, rooted at DATASET


def image_name(reference: str) -> str:
    """The file name in a task's image URL (local-files ``?d=``, uploads, plain URLs)."""
    url = urlparse(reference)
    query = parse_qs(url.query)
    name = PurePosixPath(unquote(query["d"][0] if "d" in query else url.path)).name
    if "/data/upload/" in url.path:
        name = UPLOAD_PREFIX.sub("", name)
    return name


def read_labelstudio(source: LabelSource) -> LabelSet:
    path = source.one_file(".json")
    return labels_of_tasks(load_json(path, source.describe(path)), source.describe(path))


def labels_of_tasks(tasks: Any, where: str) -> LabelSet:
    """The labels in a Label Studio JSON export (a list of tasks; ``where`` names it)."""
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise LabelFormatError(f"{where}: a Label Studio export is a list of tasks")
    labels = LabelSet([], [])
    index: dict[str, int] = {}
    for number, task in enumerate(tasks, start=1):
        try:
            image = _task_labels(task, index, labels)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            raise LabelFormatError(f"{where}: task {number} is malformed ({error!r})") from None
        if image is not None:
            labels.images.append(image)
    labels.names = list(index)
    return labels


def _task_labels(
    task: dict[str, Any], index: dict[str, int], labels: LabelSet
) -> ImageLabels | None:
    data = task["data"]
    reference = data.get("image") or next((v for v in data.values() if isinstance(v, str)), None)
    if reference is None:
        raise ValueError("its data names no image")
    annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if not annotations:
        labels.skipped["tasks without annotations"] += 1
        return None
    chosen = next((a for a in annotations if a.get("ground_truth")), annotations[-1])
    boxes, classes, angles, outlines = [], [], [], []
    width = height = None
    for result in chosen.get("result") or []:
        kind = result.get("type")
        if kind not in (RECTANGLE, POLYGON, BRUSH):
            labels.skipped[f"{kind} results"] += 1
            continue
        value = result["value"]
        width = result.get("original_width", width)
        height = result.get("original_height", height)
        outline = _outline(kind, value, width, height)
        if outline is None:
            x, y, w, h = (float(value[key]) / 100 for key in ("x", "y", "width", "height"))
            boxes.append([x, y, x + w, y + h])
            angles.append(float(value.get("rotation", 0) or 0))
        else:
            boxes.append(bounds([outline])[0].tolist())
            angles.append(0.0)
        outlines.append(outline)
        classes.append(index.setdefault(str(value[kind][0]), len(index)))
    xyxy = np.array(boxes, np.float64).reshape(-1, 4)
    if any(angles):
        if not width or not height:
            raise ValueError("a rotated box without original_width/original_height")
        size = np.array([width, height, width, height], np.float64)
        pixels = rotated_bounds(xyxy * size, np.array(angles), pivot_at_corner=True)
        xyxy = normalised(pixels, width, height)
    xyxy, polygons = outlined(xyxy, outlines)
    ids = np.array(classes, np.int64)
    name = image_name(str(reference))
    return ImageLabels(name, xyxy, ids, width, height, polygons=polygons)


def _outline(kind: str, value: dict[str, Any], width: Any, height: Any) -> Polygon | None:
    """A polygon or brush result's normalised outline; None for a rectangle."""
    if kind == POLYGON:
        points = as_polygon([[float(x), float(y)] for x, y in value["points"]]) / 100
        if len(points) < MIN_POINTS or not np.isfinite(points).all():
            raise ValueError(f"a polygon needs three finite points, not {value['points']!r:.60}")
        return points
    if kind == BRUSH:
        if value.get("format", "rle") != "rle" or not width or not height:
            raise ValueError("a brush result needs format rle and original_width/original_height")
        mask = decode_brush(value["rle"], int(width), int(height))
        outline = mask_outline(mask)
        if not len(outline):
            raise ValueError("a brush result paints no pixel")
        return outline / np.array([width, height], np.float64)
    return None


def encode_labelstudio(
    labels: LabelSet, image_prefix: str = LOCAL_FILES, model_version: str = "odet"
) -> dict[str, bytes]:
    """``tasks.json`` to import (predicted images as ``predictions`` with scores, the others
    as ``annotations``) and ``labeling_config.xml``, the project's labelling interface."""
    tasks = []
    for number, image in enumerate(labels.images, start=1):
        name = PurePosixPath(image.name).name
        results = shape_results(labels.names, image, number)
        task: dict[str, Any] = {"id": number, "data": {"image": image_prefix + name}}
        if image.predicted:
            mean = float(image.scores.mean()) if image.scores is not None and len(image) else 0.0
            task["predictions"] = [
                {"model_version": model_version, "score": mean, "result": results}
            ]
        elif image.labelled:
            task["annotations"] = [{"result": results, "ground_truth": False}]
        tasks.append(task)  # an image nobody labelled is a task to do
    outlines = any(image.polygons is not None for image in labels.images)
    return {
        "tasks.json": json.dumps(tasks, indent=1).encode(),
        "labeling_config.xml": labeling_config(labels.names, outlines),
    }


def shape_results(
    names: list[str],
    image: ImageLabels,
    number: int,
    from_name: str = "label",
    to_name: str = "image",
) -> list[dict[str, Any]]:
    """The image's boxes as ``rectanglelabels`` results, or its outlines as ``polygonlabels``
    where it has them, of the control ``from_name`` on the image ``to_name`` (result ids
    ``<number>_<object>``)."""
    percent = image.xyxy * 100
    scores = image.scores.tolist() if image.scores is not None else [None] * len(image)
    polygons = image.polygons if image.polygons is not None else [None] * len(image)
    results = []
    for box_number, (box, class_id, score, polygon) in enumerate(
        zip(percent.tolist(), image.class_ids.tolist(), scores, polygons, strict=True)
    ):
        value: dict[str, Any] = {
            "x": box[0],
            "y": box[1],
            "width": box[2] - box[0],
            "height": box[3] - box[1],
            "rotation": 0,
            RECTANGLE: [names[class_id]],
        }
        if polygon is not None:
            points = (polygon * 100).tolist()
            value = {"points": points, "closed": True, POLYGON: [names[class_id]]}
        result: dict[str, Any] = {
            "id": f"{number}_{box_number}",
            "type": RECTANGLE if polygon is None else POLYGON,
            "from_name": from_name,
            "to_name": to_name,
            "original_width": image.width,
            "original_height": image.height,
            "image_rotation": 0,
            "value": value,
        }
        if score is not None:
            result["score"] = score
        results.append(result)
    return results


def labeling_config(names: list[str], outlines: bool = False) -> bytes:
    """The labelling interface matching the tasks: an image and one rectangle label per class
    (polygon labels for ``outlines``)."""
    view = ET.Element("View")
    ET.SubElement(view, "Image", name="image", value="$image")
    control = "PolygonLabels" if outlines else "RectangleLabels"
    rectangles = ET.SubElement(view, control, name="label", toName="image")
    for name in names:
        ET.SubElement(rectangles, "Label", value=name)
    return to_bytes(view, declaration=False)
