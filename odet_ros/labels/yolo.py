"""Ultralytics YOLO labels: one ``class cx cy w h`` line per box, or one ``class x1 y1 x2 y2
...`` line per outline (YOLO-seg), normalised to the image.

Read from any of the layouts the tools write: Ultralytics (``data.yaml`` + ``labels/``),
Roboflow (``data.yaml`` + ``train/labels`` ...), CVAT "YOLO 1.1" (``obj.names`` +
``obj_train_data/``) and LabelImg (``classes.txt`` beside the label files). Written as the
Ultralytics layout (outlines as YOLO-seg rows), or as a CVAT YOLO 1.1 package
(:func:`encode_yolo11`) that CVAT and Roboflow import (boxes only: Darknet's format has no
outlines).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import yaml
from numpy.typing import NDArray

from odet_ros.labels.boxes import cxcywh_to_xyxy, xyxy_to_cxcywh
from odet_ros.labels.errors import LabelFormatError
from odet_ros.labels.model import ImageLabels, LabelSet
from odet_ros.labels.polygons import Polygon, as_polygon, bounds
from odet_ros.labels.source import LabelSource

NAME_FILES = ("data.yaml", "obj.names", "classes.txt")
LIST_FILES = frozenset({"classes.txt", "train.txt", "val.txt", "valid.txt", "test.txt"})


@dataclass(frozen=True)
class YoloRows:
    """The well-formed lines of a label file as (N, 5) float64 rows (class cx cy w h; a polygon
    row's bounding box), their 1-based line numbers, each row's outline where the file holds
    polygon rows (else None), and (line, problem) for the lines that are not usable."""

    rows: NDArray[np.float64]
    lines: NDArray[np.int64]
    problems: list[tuple[int, str]]
    polygons: list[Polygon] | None = None


def parse_yolo(text: str) -> YoloRows:
    """Parse a label file's text, keeping every problem (``odet dataset check`` lists them).

    A row is a box (``class cx cy w h``) or a polygon (``class x1 y1 x2 y2 x3 y3 ...``, three
    points or more, as YOLO-seg); a file holds one kind only (Ultralytics drops a file that
    mixes them), so box rows beside polygon rows are problems."""
    numbered = [(i, line.split()) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    parsed: list[tuple[int, list[float]]] = []
    problems = []
    for number, tokens in numbered:
        if len(tokens) != 5 and (len(tokens) < 7 or len(tokens) % 2 == 0):
            problems.append(
                (
                    number,
                    f"{len(tokens)} values; expected 5 (class cx cy w h)"
                    " or a polygon (class x1 y1 x2 y2 x3 y3 ...)",
                )
            )
            continue
        try:
            values = [float(token) for token in tokens]
        except ValueError:
            values = []
        if not values or not all(math.isfinite(v) for v in values):
            problems.append((number, f"not a number in {' '.join(tokens)!r}"))
            continue
        parsed.append((number, values))
    outlined = any(len(values) > 5 for _, values in parsed)
    good, lines, polygons = [], [], []
    for number, values in parsed:
        if outlined and len(values) == 5:
            problems.append(
                (number, "a box row among polygon rows (Ultralytics drops a file mixing them)")
            )
            continue
        if outlined:
            polygon = as_polygon(values[1:])
            polygons.append(polygon)
            good.append([values[0], *xyxy_to_cxcywh(bounds([polygon]))[0]])
        else:
            good.append(values)
        lines.append(number)
    problems.sort()
    rows = np.array(good, np.float64).reshape(-1, 5)
    return YoloRows(rows, np.array(lines, np.int64), problems, polygons if outlined else None)


def format_yolo(
    class_ids: NDArray[np.int64],
    xyxy: NDArray[np.float64],
    polygons: list[Polygon] | None = None,
) -> str:
    """Label file text for normalised xyxy boxes, or for outlines where given (6 decimals, as
    Ultralytics' converters)."""
    ids = np.asarray(class_ids).tolist()
    if polygons is not None:
        return "".join(
            f"{c} " + " ".join(f"{v:.6f}" for v in polygon.ravel().tolist()) + "\n"
            for c, polygon in zip(ids, polygons, strict=True)
        )
    centres = xyxy_to_cxcywh(xyxy)
    return "".join(
        f"{c} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n"
        for c, (x, y, w, h) in zip(ids, centres.tolist(), strict=True)
    )


def read_label_file(
    path: Path, describe: str | None = None
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Class ids and normalised xyxy boxes of one label file; any bad line is an error."""
    class_ids, xyxy, _ = read_label_outlines(path, describe)
    return class_ids, xyxy


def read_label_outlines(
    path: Path, describe: str | None = None
) -> tuple[NDArray[np.int64], NDArray[np.float64], list[Polygon] | None]:
    """Class ids, normalised xyxy boxes and outlines (None for a box file) of one label file;
    any bad line is an error."""
    where = describe or str(path)
    try:
        parsed = parse_yolo(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise LabelFormatError(f"{where}: not a text file ({error})") from None
    if parsed.problems:
        line, problem = parsed.problems[0]
        raise LabelFormatError(f"{where}:{line}: {problem}")
    classes = parsed.rows[:, 0]
    if (bad := np.flatnonzero((classes < 0) | (classes != np.floor(classes)))).size:
        raise LabelFormatError(f"{where}:{parsed.lines[bad[0]]}: class must be an integer >= 0")
    return classes.astype(np.int64), cxcywh_to_xyxy(parsed.rows[:, 1:]), parsed.polygons


def read_yolo(source: LabelSource) -> LabelSet:
    """Every label file under the source; images are named by the label file's stem."""
    names = _read_names(source)
    images: dict[str, ImageLabels] = {}
    where: dict[str, Path] = {}
    for path in source.files(".txt"):
        if path.name in LIST_FILES:
            continue
        class_ids, xyxy, polygons = read_label_outlines(path, source.describe(path))
        if len(class_ids) and class_ids.max() >= len(names):
            raise LabelFormatError(
                f"{source.describe(path)}: class {class_ids.max()} but only {len(names)} names"
            )
        if path.stem in images:
            raise LabelFormatError(
                f"{source.describe(path)}: a second label file for image {path.stem!r}"
                f" (the first is {source.describe(where[path.stem])})"
            )
        images[path.stem] = ImageLabels(path.stem, xyxy, class_ids, polygons=polygons)
        where[path.stem] = path
    return LabelSet(names, list(images.values()))


def _read_names(source: LabelSource) -> list[str]:
    root = source.path if source.path.is_dir() else source.path.parent
    for name in NAME_FILES:
        found = sorted(root.rglob(name), key=lambda p: (len(p.parts), p))
        if not found:
            continue
        path = found[0]
        text = path.read_text(encoding="utf-8")
        if name != "data.yaml":
            return [line.strip() for line in text.splitlines() if line.strip()]
        try:
            names = (yaml.safe_load(text) or {}).get("names")
        except (yaml.YAMLError, AttributeError) as error:
            raise LabelFormatError(
                f"{source.describe(path)}: not a YOLO data.yaml ({error})"
            ) from None
        if isinstance(names, dict):
            return [str(names[key]) for key in sorted(names, key=int)]
        if isinstance(names, list):
            return [str(name) for name in names]
        raise LabelFormatError(f"{source.describe(path)}: no 'names' list")
    raise LabelFormatError(f"{source.origin}: no class names (data.yaml, obj.names or classes.txt)")


def encode_yolo(labels: LabelSet) -> dict[str, bytes]:
    """Ultralytics layout: ``data.yaml`` (names) and ``labels/<image stem>.txt``."""
    files = {
        "data.yaml": yaml.safe_dump(
            {"names": dict(enumerate(labels.names))}, sort_keys=False, allow_unicode=True
        ).encode()
    }
    for image in labels.images:
        if not image.labelled:
            continue
        stem = PurePosixPath(image.name).stem
        text = format_yolo(image.class_ids, image.xyxy, image.polygons)
        files[f"labels/{stem}.txt"] = text.encode()
    return files


def encode_yolo11(labels: LabelSet) -> dict[str, bytes]:
    """CVAT's "YOLO 1.1" (Darknet) package: obj.names, obj.data, train.txt, obj_train_data/."""
    names = "".join(f"{name}\n" for name in labels.names)
    data = (
        f"classes = {len(labels.names)}\ntrain = data/train.txt\nnames = data/obj.names\n"
        "backup = backup/\n"
    )
    listing = "".join(f"data/obj_train_data/{PurePosixPath(i.name).name}\n" for i in labels.images)
    files = {"obj.names": names.encode(), "obj.data": data.encode(), "train.txt": listing.encode()}
    for image in labels.images:
        if not image.labelled:
            continue
        stem = PurePosixPath(image.name).stem
        files[f"obj_train_data/{stem}.txt"] = format_yolo(image.class_ids, image.xyxy).encode()
    return files
