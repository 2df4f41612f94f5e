"""What a model file says about itself: embedded metadata, read without its framework.

Ultralytics writes the same dictionary into every export: ONNX ``metadata_props`` (values are
Python reprs, e.g. ``names`` is ``"{0: 'person', ...}"``), a ``metadata.json`` zip entry
appended to a ``.tflite`` (JSON, so ``names`` keys are strings), and a length-prefixed JSON
header in front of a TensorRT ``.engine``. YOLOv5 (the original repository) writes ``stride``
and ``names`` the same way into ONNX, and into a ``.tflite`` as a ``meta.txt`` (a Python dict
repr) through TFLite Support's metadata, which also carries the label files of TensorFlow's
detectors. :func:`model_info` turns any of them into a :class:`ModelInfo`.
"""

from __future__ import annotations

import ast
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odet_ros.detection.errors import MetadataError
from odet_ros.detection.labels import parse_label_lines

ULTRALYTICS_ENTRY = "metadata.json"
YOLOV5_ENTRY = "meta.txt"


@dataclass(frozen=True)
class ModelInfo:
    """The fields the detector uses; None where the model does not say."""

    names: list[str] | None = None
    imgsz: tuple[int, int] | None = None  # (height, width)
    end2end: bool | None = None  # NMS inside the model (YOLO26 head or nms=True export)
    task: str | None = None


def model_info(metadata: Mapping[str, Any]) -> ModelInfo:
    """Read names, input size, end-to-end flag and task from an Ultralytics metadata dict."""
    if not metadata:
        return ModelInfo()
    names = metadata.get("names")
    args = _literal(metadata.get("args", {}), "args")
    end2end = metadata.get("end2end")
    if end2end is not None:
        end2end = bool(_literal(end2end, "end2end"))
    if isinstance(args, dict) and args.get("nms"):
        end2end = True  # exported with nms=True: NMS inside the graph
    task = metadata.get("task")
    return ModelInfo(
        names=None if names is None else parse_names(names),
        imgsz=_parse_imgsz(metadata.get("imgsz")),
        end2end=end2end,
        task=None if task is None else str(task),
    )


def parse_names(value: Any) -> list[str]:
    """Class names from a list, a ``{index: name}`` dict (int or str keys) or the repr of either."""
    value = _literal(value, "names")
    if isinstance(value, Mapping):
        try:
            indexed = {int(k): str(v) for k, v in value.items()}
        except (TypeError, ValueError) as error:
            raise MetadataError(f"names keys must be class indices, got {list(value)}") from error
        if sorted(indexed) != list(range(len(indexed))):
            raise MetadataError(
                f"names must be indexed 0..{len(indexed) - 1}, got {sorted(indexed)}"
            )
        return [indexed[i] for i in range(len(indexed))]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise MetadataError(f"names must be a list or an {{index: name}} mapping, got {value!r}")


def _parse_imgsz(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    value = _literal(value, "imgsz")
    if isinstance(value, int):
        return value, value
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) for v in value)
    ):
        return int(value[0]), int(value[1])
    raise MetadataError(f"imgsz must be an int or [height, width], got {value!r}")


def _literal(value: Any, field: str) -> Any:
    if not isinstance(value, str):
        return value
    if value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[value]
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError) as error:
        raise MetadataError(f"{field} is not a Python literal: {value[:80]!r}") from error


def read_tflite_metadata(path: Path) -> dict[str, Any]:
    """The metadata zipped onto a ``.tflite``: Ultralytics' ``metadata.json``, YOLOv5's
    ``meta.txt``, or (TFLite Support) a label file, as ``{"names": [...]}``; {} when none."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.namelist()
            if ULTRALYTICS_ENTRY in entries:
                metadata = _json_object(archive.read(ULTRALYTICS_ENTRY))
            elif YOLOV5_ENTRY in entries:
                metadata = _literal(archive.read(YOLOV5_ENTRY).decode("utf-8", "replace"), "meta")
            else:
                labels = [e for e in entries if e.lower().endswith(".txt")]
                if not labels:
                    return {}
                text = archive.read(labels[0]).decode("utf-8", "replace")
                metadata = {"names": parse_label_lines(text)}
    except zipfile.BadZipFile:
        return {}  # a plain flatbuffer: a third-party or pre-metadata export
    if not isinstance(metadata, dict):
        raise MetadataError(f"the metadata inside the model is not a mapping: {metadata!r:.80}")
    return metadata


def _json_object(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError as error:
        raise MetadataError(f"metadata.json inside the model is not JSON: {error}") from error


def is_yolov5_checkpoint(path: Path) -> bool:
    """Whether a ``.pt`` holds a model of the original YOLOv5 repository, whose pickle names
    its classes ``models.yolo...`` / ``models.common...`` (Ultralytics 8: ``ultralytics.nn``).
    Reads only the pickle's class references, never unpickles."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
            data = archive.read(pickles[0]) if pickles else b""
    except (zipfile.BadZipFile, OSError):
        return False
    return any(reference in data for reference in _YOLOV5_CLASSES) and b"ultralytics.nn" not in data


_YOLOV5_CLASSES = (b"models.yolo\n", b"models.common\n", b"\x0bmodels.yolo", b"\rmodels.common")


def read_engine_header(path: Path) -> tuple[int, dict[str, Any]]:
    """(offset of the TensorRT plan, metadata) of an Ultralytics ``.engine``: a 4-byte
    little-endian length, then that many bytes of JSON. (0, {}) for a bare plan."""
    with path.open("rb") as f:
        head = f.read(4)
        size = path.stat().st_size
        length = int.from_bytes(head, "little") if len(head) == 4 else 0
        if 0 < length <= size - 4:
            try:
                return 4 + length, json.loads(f.read(length))
            except ValueError:
                pass  # plan bytes, not a header
    return 0, {}
