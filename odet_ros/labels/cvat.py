"""CVAT for images 1.1 XML (``annotations.xml``), as docs.cvat.ai/docs/other/xml_format has it.

``<image name width height>`` holds ``<box label xtl ytl xbr ybr [rotation]>`` in pixels; a
rotated box is read as its axis-aligned bounds (CVAT rotates about the box centre). Other
shapes (polygons, points, masks ...) are skipped and counted: this is a box detector's dataset.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import PurePosixPath

import numpy as np

from odet_ros.labels.boxes import rotated_bounds
from odet_ros.labels.errors import LabelFormatError
from odet_ros.labels.model import ImageLabels, LabelSet, normalised
from odet_ros.labels.source import LabelSource
from odet_ros.labels.xml_files import attribute, format_number, parse_xml, to_bytes

CORNERS = ("xtl", "ytl", "xbr", "ybr")
OTHER_SHAPES = ("polygon", "polyline", "points", "mask", "cuboid", "skeleton", "ellipse", "tag")


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
        for box in image.iter("box"):
            label = box.get("label", "")
            if label not in index:
                index[label] = len(index)
                labels.names.append(label)
            boxes.append([attribute(box, corner, where) for corner in CORNERS])
            angles.append(float(box.get("rotation", 0) or 0))
            classes.append(index[label])
        for shape in OTHER_SHAPES:
            if count := len(image.findall(shape)):
                labels.skipped[f"{shape} shapes"] += count
        pixels = np.array(boxes, np.float64).reshape(-1, 4)
        if any(angles):
            pixels = rotated_bounds(pixels, np.array(angles), pivot_at_corner=False)
        xyxy = normalised(pixels, width, height)
        ids = np.array(classes, np.int64)
        labels.images.append(ImageLabels(name, xyxy, ids, int(width), int(height)))
    return labels


def encode_cvat(labels: LabelSet) -> dict[str, bytes]:
    """One ``annotations.xml``; predictions are marked ``source="auto"``."""
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    ET.SubElement(task, "name").text = "odet"
    ET.SubElement(task, "size").text = str(len(labels.images))
    ET.SubElement(task, "mode").text = "annotation"
    label_list = ET.SubElement(task, "labels")
    for name in labels.names:
        label = ET.SubElement(label_list, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "type").text = "rectangle"
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
        for class_id, box in zip(image.class_ids.tolist(), image.pixels().tolist(), strict=True):
            corners = dict(zip(CORNERS, map(format_number, box), strict=True))
            attributes = {
                "label": labels.names[class_id],
                "source": source,
                "occluded": "0",
                **corners,
                "z_order": "0",
            }
            ET.SubElement(element, "box", attributes)
    return {"annotations.xml": to_bytes(root)}
