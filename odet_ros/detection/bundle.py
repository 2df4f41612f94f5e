"""Model bundles: a folder holding a model file and ``bundle.yaml``, all a detector needs to run it.

A bundle travels from the workstation (``odet export`` writes it) to the robot's ``models/``
folder, where ``detect.launch.py model:=NAME`` finds it by name. :func:`resolve_model` accepts a
bundle folder, a model file, or a bundle name looked up in the installed package's ``models/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from odet_ros.atomic import atomic_write
from odet_ros.detection.decode import BOX_UNITS, OUTPUT_KINDS
from odet_ros.detection.errors import ModelError
from odet_ros.detection.letterbox import RESIZE_MODES

BUNDLE_FILE = "bundle.yaml"
BUNDLE_VERSION = 1
INPUT_LAYOUTS = ("nchw", "nhwc")
INPUT_DTYPES = ("float32", "float16", "int8", "uint8")
PACKAGE = "odet_ros"


@dataclass(frozen=True)
class ModelBundle:
    """The contents of ``bundle.yaml``. Optional fields left None are read from the model."""

    model: str  # the model file's name inside the bundle folder
    names: list[str]
    imgsz: tuple[int, int] | None = None  # network input (height, width)
    input_layout: str | None = None  # nchw | nhwc (checked against the model)
    input_dtype: str | None = None  # float32 | float16 | int8 | uint8 (for people: the model says)
    # raw (YOLO head, NMS by us) | nms (NMS in the model, TFLite post-process op included)
    # | yolov5 (the anchor head with objectness, NMS by us)
    output_format: str | None = None
    box_units: str | None = None  # pixels | normalized (raw head boxes divided by W, H)
    resize: str | None = None  # letterbox (YOLO) | stretch (TensorFlow's detectors)
    dataset: str | None = None  # the dataset it was trained on
    run: str | None = None  # the training run it came from
    metrics: dict[str, float] = field(default_factory=dict)
    version: int = BUNDLE_VERSION
    # where it came from, as odet train / odet export record it: dataset hash and summary,
    # training arguments, export settings, the split and mode its metrics were measured on
    provenance: dict[str, Any] = field(default_factory=dict)
    # what frame selection measures the model against (odet_ros.selection.profile), optional:
    # its score statistics on a labelled split, and a file summarising its training views
    scores: dict[str, Any] = field(default_factory=dict)
    training_views: str | None = None

    def __post_init__(self) -> None:
        _check(
            isinstance(self.model, str) and bool(self.model) and "/" not in self.model,
            "model",
            self.model,
        )
        _check(
            isinstance(self.names, list)
            and bool(self.names)
            and all(isinstance(n, str) for n in self.names),
            "names",
            self.names,
        )
        if self.imgsz is not None:
            size = tuple(self.imgsz)
            _check(
                len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size), "imgsz", size
            )
            object.__setattr__(self, "imgsz", size)
        _check(self.input_layout in (None, *INPUT_LAYOUTS), "input_layout", self.input_layout)
        _check(self.input_dtype in (None, *INPUT_DTYPES), "input_dtype", self.input_dtype)
        _check(self.output_format in (None, *OUTPUT_KINDS), "output_format", self.output_format)
        _check(self.box_units in (None, *BOX_UNITS), "box_units", self.box_units)
        _check(self.resize in (None, *RESIZE_MODES), "resize", self.resize)
        _check(isinstance(self.metrics, dict), "metrics", self.metrics)
        _check(self.version == BUNDLE_VERSION, "version", self.version)
        _check(isinstance(self.provenance, dict), "provenance", self.provenance)
        _check(isinstance(self.scores, dict), "scores", self.scores)
        _check(
            self.training_views is None
            or (isinstance(self.training_views, str) and "/" not in self.training_views),
            "training_views",
            self.training_views,
        )

    @classmethod
    def load(cls, folder: Path) -> ModelBundle:
        """Read ``folder/bundle.yaml``; a ModelError names the file and the field at fault."""
        file = Path(folder) / BUNDLE_FILE
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise ModelError(f"{folder}: not a model bundle (no {BUNDLE_FILE})") from error
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise ModelError(f"{file}: cannot read: {error}") from error
        if not isinstance(data, dict):
            raise ModelError(f"{file}: expected a mapping of bundle fields")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ModelError(f"{file}: unknown field(s) {', '.join(unknown)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as error:
            raise ModelError(f"{file}: {error}") from error

    def save(self, folder: Path) -> Path:
        """Write ``folder/bundle.yaml`` atomically and return its path."""
        file = Path(folder) / BUNDLE_FILE
        data: dict[str, Any] = asdict(self)
        if self.imgsz is not None:
            data["imgsz"] = list(self.imgsz)
        with atomic_write(file) as stream:
            yaml.safe_dump(data, stream, sort_keys=False)
        return file


def _check(ok: bool, name: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"invalid {name}: {value!r}")


@dataclass(frozen=True)
class ResolvedModel:
    """A model file to open, with its bundle when it came in one."""

    path: Path
    bundle: ModelBundle | None = None


def resolve_model(model: str | Path) -> ResolvedModel:
    """Find the model a user named: a bundle folder, a model file, or an installed bundle's name.

    A model file whose folder holds a ``bundle.yaml`` describing it gets that bundle too.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return _open_bundle(path)
    if path.is_file():
        sibling = path.parent / BUNDLE_FILE
        if sibling.is_file():
            bundle = ModelBundle.load(path.parent)
            if bundle.model == path.name:
                return ResolvedModel(path, bundle)
        return ResolvedModel(path)
    if len(path.parts) == 1 and not path.suffix:
        for folder in model_search_dirs():
            if (folder / path.name).is_dir():
                return _open_bundle(folder / path.name)
        searched = ", ".join(str(d) for d in model_search_dirs()) or "no models folder found"
        raise ModelError(f"model {model}: no such file, and no bundle of that name in {searched}")
    raise ModelError(f"model {model}: no such file or bundle folder")


def model_identity(model: str | Path) -> tuple[str, str]:
    """The name a user knows a model by (bundle folder or file name) and its version: the first
    12 hex digits of the model file's SHA-256, which changes with every retraining."""
    resolved = resolve_model(model)
    digest = hashlib.sha256()
    with resolved.path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    name = resolved.path.parent.name if resolved.bundle is not None else resolved.path.name
    return name, digest.hexdigest()[:12]


def _open_bundle(folder: Path) -> ResolvedModel:
    bundle = ModelBundle.load(folder)
    path = folder / bundle.model
    if not path.is_file():
        raise ModelError(f"{folder / BUNDLE_FILE}: model file {bundle.model} is missing")
    return ResolvedModel(path, bundle)


def model_search_dirs() -> list[Path]:
    """The ``models/`` folders a bundle name is looked up in, first match wins: the ROS package
    share (ament index), the pip install's share, then this source checkout's ``models/``."""
    folders = []
    try:
        from ament_index_python.packages import (
            PackageNotFoundError,
            get_package_share_directory,
        )

        with contextlib.suppress(PackageNotFoundError):
            folders.append(Path(get_package_share_directory(PACKAGE)) / "models")
    except ImportError:
        pass  # no ROS: the pip and source-checkout locations below
    folders.append(Path(sys.prefix) / "share" / PACKAGE / "models")
    folders.append(Path(__file__).resolve().parents[2] / "models")
    unique = dict.fromkeys(f for f in folders if f.is_dir())
    return list(unique)
