"""CVAT for images 1.1 XML (``annotations.xml``), as docs.cvat.ai/docs/other/xml_format has it.

``<image name width height>`` holds ``<box label xtl ytl xbr ybr [rotation]>`` and
``<polygon label points="x1,y1;x2,y2;...">`` in pixels; a rotated box is read as its
axis-aligned bounds (CVAT rotates about the box centre). Other shapes (polylines, points,
masks ...) are skipped and counted. Outlines are written as ``<polygon>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import PurePosixPath

import numpy as np

from odet_ros.labels.boxes import rotated_bounds
from odet_ros.labels.errors import LabelFormatError
from odet_ros.labels.model import ImageLabels, LabelSet, normalised, outlined
from odet_ros.labels.polygons import MIN_POINTS, Polygon, as_polygon, bounds
from odet_ros.labels.source import LabelSource
from odet_ros.labels.xml_files import attribute, format_number, parse_xml, to_bytes

CORNERS = ("xtl", "ytl", "xbr", "ybr")
OTHER_SHAPES = ("polyline", "points", "mask", "cuboid", "skeleton", "ellipse", "tag")


def read_cvat(source: LabelSource) -> LabelSet:
    path = source.one_file(".xml", preferred="annotations.xml")
    where = source.describe(path)
    root = parse_xml(path, where, "annotations")
    names = [str(n.text or "").strip() for n in root.findall(".//meta//labels/label/name")]
    index = {name: i for i, name in enumerate(dict.fromkeys(names))}
    labels = LabelSet(list(index), [])
    for image in root.iter("image"):
        name = image.get("name")
        if not name:
            raise LabelFormatError(f"{where}: an <image> without a name")
        width, height = attribute(image, "width", where), attribute(image, "height", where)
        if width <= 0 or height <= 0:
            raise LabelFormatError(f"{where}: <image name={name!r}> is {width:g}x{height:g}")
        boxes, classes, angles = [], [], []
        outlines: list[Polygon | None] = []
        for shape in image:
            if shape.tag not in ("box", "polygon"):
                continue
            label = shape.get("label", "")
            if label not in index:
                index[label] = len(index)
                labels.names.append(label)
            classes.append(index[label])
            if shape.tag == "box":
                boxes.append([attribute(shape, corner, where) for corner in CORNERS])
                angles.append(float(shape.get("rotation", 0) or 0))
                outlines.append(None)
            else:
                outline = _points(shape, where)
                boxes.append(bounds([outline])[0].tolist())
                angles.append(0.0)
                outlines.append(outline / np.array([width, height]))
        for other in OTHER_SHAPES:
            if count := len(image.findall(other)):
                labels.skipped[f"{other} shapes"] += count
        pixels = np.array(boxes, np.float64).reshape(-1, 4)
        if any(angles):
            pixels = rotated_bounds(pixels, np.array(angles), pivot_at_corner=False)
        xyxy, polygons = outlined(normalised(pixels, width, height), outlines)
        ids = np.array(classes, np.int64)
        size = (int(width), int(height))
        labels.images.append(ImageLabels(name, xyxy, ids, *size, polygons=polygons))
    return labels


def _points(polygon: ET.Element, where: str) -> Polygon:
    """A ``<polygon>``'s vertices in pixels."""
    text = polygon.get("points") or ""
    try:
        points = as_polygon([[float(v) for v in pair.split(",")] for pair in text.split(";")])
    except ValueError:
        points = np.zeros((0, 2))
    if len(points) < MIN_POINTS or not np.isfinite(points).all():
        raise LabelFormatError(
            f"{where}: <polygon> points {text!r:.60} are not three x,y pairs or more"
        )
    return points


def encode_cvat(labels: LabelSet) -> dict[str, bytes]:
    """One ``annotations.xml``; predictions are marked ``source="auto"``."""
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    ET.SubElement(task, "name").text = "odet"
    ET.SubElement(task, "size").text = str(len(labels.images))
    ET.SubElement(task, "mode").text = "annotation"
    label_list = ET.SubElement(task, "labels")
    outlines = any(image.polygons is not None for image in labels.images)
    for name in labels.names:
        label = ET.SubElement(label_list, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "type").text = "polygon" if outlines else "rectangle"
        ET.SubElement(label, "attributes")
    for image_id, image in enumerate(labels.images):
        element = ET.SubElement(
            root,
            "image",
            id=str(image_id),
            name=PurePosixPath(image.name).name,
            width=str(image.width),
            height=str(image.height),
        )
        source = "auto" if image.predicted else "manual"
        shapes: list[Polygon | None] = [None] * len(image)
        if image.polygons is not None:
            shapes = list(image.pixel_polygons())
        for class_id, box, outline in zip(
            image.class_ids.tolist(), image.pixels().tolist(), shapes, strict=True
        ):
            common = {"label": labels.names[class_id], "source": source, "occluded": "0"}
            if outline is None:
                corners = dict(zip(CORNERS, map(format_number, box), strict=True))
                ET.SubElement(element, "box", {**common, **corners, "z_order": "0"})
            else:
                points = ";".join(f"{format_number(x)},{format_number(y)}" for x, y in outline)
                ET.SubElement(element, "polygon", {**common, "points": points, "z_order": "0"})
    return {"annotations.xml": to_bytes(root)}
