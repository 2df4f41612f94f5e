"""Reading XML label files with errors that name the file and position."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from odet_ros.labels.errors import LabelFormatError


def parse_xml(path: Path, where: str, root_tag: str) -> ET.Element:
    """The root element of ``path``, which must be ``root_tag``.

    Python's expat parser does not fetch external entities, so a label file cannot make us read
    other files or the network.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        line, column = error.position
        raise LabelFormatError(f"{where}:{line}:{column}: not well-formed XML ({error})") from None
    if root.tag != root_tag:
        raise LabelFormatError(f"{where}: root element is <{root.tag}>, expected <{root_tag}>")
    return root


def number(element: ET.Element, path: str, where: str) -> float:
    """The finite number in the text of ``element``'s child at ``path``."""
    text = element.findtext(path)
    value = _finite(text)
    if value is None:
        raise LabelFormatError(f"{where}: <{path}> is {text!r}, not a number")
    return value


def attribute(element: ET.Element, name: str, where: str) -> float:
    """The finite number in ``element``'s attribute ``name``."""
    text = element.get(name)
    value = _finite(text)
    if value is None:
        raise LabelFormatError(
            f"{where}: <{element.tag}> attribute {name} is {text!r}, not a number"
        )
    return value


def _finite(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def format_number(value: float) -> str:
    """Integers without a decimal point (LabelImg reads them), others at full precision."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def to_bytes(root: ET.Element, declaration: bool = True) -> bytes:
    ET.indent(root)
    data: bytes = ET.tostring(
        root, encoding="utf-8", xml_declaration=declaration
    )  # bytes: not "unicode"
    return data + b"\n"
