"""Class names from label files, the way other toolchains ship them beside a model.

- one name per line (``labels.txt``, YOLOv5 teams; ``labelmap.txt`` of TensorFlow's examples,
  whose first line may be ``???``, the background class the detection post-process op does not
  count, so it is dropped and class 0 is the next line);
- ``<id> <name>`` per line (Coral's ``coco_labels.txt``), ids 0-based, gaps allowed;
- the Object Detection API's ``label_map.pbtxt`` (``item { id: 1 name: 'cup' }``), ids 1-based
  because 0 is the background, so id 1 is class 0.

Unused ids become ``???``, as TensorFlow's label maps write them. :func:`labels_beside` finds
such a file next to a model that carries no names of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from odet_ros.detection.errors import ModelError

# looked for beside a model, in this order
LABEL_FILES = (
    "labels.txt",
    "labelmap.txt",
    "label_map.txt",
    "classes.txt",
    "label_map.pbtxt",
    "labelmap.pbtxt",
    "labels.pbtxt",
)
UNUSED = "???"
BACKGROUND = {"???", "background", "__background__"}
_ID_LINE = re.compile(r"^(\d+)[\s:,]+(\S.*)$")
_ITEM = re.compile(r"item\s*\{(.*?)\}", re.DOTALL)
_FIELD = r"(?:^|\s){}\s*:\s*(?:\"([^\"]*)\"|'([^']*)'|(\S+))"


def read_labels(path: str | Path) -> list[str]:
    """Class names (index = the model's class id) from a label file; a ModelError names it."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ModelError(f"labels {file}: cannot read: {error}") from error
    try:
        names = parse_pbtxt(text) if file.suffix == ".pbtxt" else parse_label_lines(text)
    except ValueError as error:
        raise ModelError(f"labels {file}: {error}") from error
    return names


def parse_label_lines(text: str) -> list[str]:
    """Names from one-per-line or ``<id> <name>`` text (see the module docstring)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("no class names in it")
    matches = [_ID_LINE.match(line) for line in lines]
    if all(matches):
        return _by_id({int(m.group(1)): m.group(2).strip() for m in matches if m}, first=0)
    if lines[0].lower() in BACKGROUND and len(lines) > 1:
        lines = lines[1:]
    return lines


def parse_pbtxt(text: str) -> list[str]:
    """Names from an Object Detection API label map: ``display_name`` where given, else
    ``name``; id 1 becomes class 0."""
    by_id = {}
    for item in _ITEM.findall(text):
        item_id = _field(item, "id")
        name = _field(item, "display_name") or _field(item, "name")
        if item_id is None or not item_id.isdigit() or not name:
            raise ValueError(f"an item without a numeric id and a name: {' '.join(item.split())}")
        if int(item_id) > 0:  # id 0 is the background
            by_id[int(item_id)] = name
    if not by_id:
        raise ValueError("no item { id: N name: '...' } in it")
    return _by_id(by_id, first=1)


def labels_beside(model: Path) -> Path | None:
    """The first label file of :data:`LABEL_FILES` in the model's folder, if any."""
    for name in LABEL_FILES:
        candidate = model.parent / name
        if candidate.is_file():
            return candidate
    return None


def _field(item: str, key: str) -> str | None:
    found = re.search(_FIELD.format(re.escape(key)), item)
    if found is None:
        return None
    return next(value for value in found.groups() if value is not None)


def _by_id(by_id: dict[int, str], first: int) -> list[str]:
    if len(by_id) > 10_000 or max(by_id) - first >= 10_000:
        raise ValueError(f"class ids up to {max(by_id)}: not a label map")
    return [by_id.get(i, UNUSED) for i in range(first, max(by_id) + 1)]
