"""Pascal VOC XML, one ``<annotation>`` file per image, as LabelImg and CVAT write it.

Boxes are ``<bndbox>`` ``xmin ymin xmax ymax`` in pixels. The VOC devkit counted pixels from 1,
but LabelImg and CVAT write and read the box edges as they are, and so does this module (with
decimals where a box is not on whole pixels, so that a round trip is exact).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import PurePosixPath

import numpy as np

from odet_ros.labels.errors import LabelFormatError
from odet_ros.labels.model import ImageLabels, LabelSet, normalised
from odet_ros.labels.source import LabelSource
from odet_ros.labels.xml_files import format_number, number, parse_xml, to_bytes

EDGES = ("xmin", "ymin", "xmax", "ymax")


def read_voc(source: LabelSource) -> LabelSet:
    paths = source.files(".xml")
    if not paths:
        raise LabelFormatError(f"{source.origin}: no Pascal VOC .xml files")
    labels = LabelSet([], [])
    index: dict[str, int] = {}
    for path in paths:
        where = source.describe(path)
        root = parse_xml(path, where, "annotation")
        name = root.findtext("filename") or f"{path.stem}"
        width, height = number(root, "size/width", where), number(root, "size/height", where)
        if width <= 0 or height <= 0:
            raise LabelFormatError(f"{where}: <size> is {width:g}x{height:g}; it must be positive")
        boxes, classes = [], []
        for obj in root.iter("object"):
            class_name = (obj.findtext("name") or "").strip()
            if not class_name:
                raise LabelFormatError(f"{where}: an <object> without a <name>")
            boxes.append([number(obj, f"bndbox/{edge}", where) for edge in EDGES])
            classes.append(index.setdefault(class_name, len(index)))
        xyxy = normalised(np.array(boxes, np.float64), width, height)
        ids = np.array(classes, np.int64)
        labels.images.append(ImageLabels(name.strip(), xyxy, ids, int(width), int(height)))
    labels.names = list(index)
    return labels


def encode_voc(labels: LabelSet) -> dict[str, bytes]:
    """``Annotations/<image stem>.xml`` per image (class order follows first appearance)."""
    files = {}
    for image in labels.images:
        if not image.labelled:
            continue
        file_name = PurePosixPath(image.name).name
        root = ET.Element("annotation")
        ET.SubElement(root, "folder").text = "images"
        ET.SubElement(root, "filename").text = file_name
        size = ET.SubElement(root, "size")
        for tag, value in (("width", image.width), ("height", image.height), ("depth", 3)):
            ET.SubElement(size, tag).text = str(value)
        ET.SubElement(root, "segmented").text = "0"
        for class_id, box in zip(image.class_ids.tolist(), image.pixels().tolist(), strict=True):
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = labels.names[class_id]
            ET.SubElement(obj, "pose").text = "Unspecified"
            ET.SubElement(obj, "truncated").text = "0"
            ET.SubElement(obj, "difficult").text = "0"
            bndbox = ET.SubElement(obj, "bndbox")
            for tag, value in zip(EDGES, box, strict=True):
                ET.SubElement(bndbox, tag).text = format_number(value)
        files[f"Annotations/{PurePosixPath(file_name).stem}.xml"] = to_bytes(root)
    return files
