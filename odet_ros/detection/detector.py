"""The Detector: an image in, :class:`Detections` in that image's pixels out, whatever the backend.

Every backend shares this path: letterbox (:mod:`.letterbox`), run the network (the backend),
decode the head (:mod:`.decode`), class-aware NMS (:mod:`.nms`), map back to source pixels. The
live node, bag replay, ``odet detect`` and evaluation all call :meth:`Detector.detect`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from odet_ros.detection.backends import backend_name, open_backend
from odet_ros.detection.backends.base import BackendOptions, InferenceBackend, InputSpec
from odet_ros.detection.bundle import BUNDLE_FILE, ModelBundle, resolve_model
from odet_ros.detection.decode import (
    NMS,
    RAW,
    OutputFormat,
    decode,
    resolve_output_format,
)
from odet_ros.detection.errors import MetadataError, ModelError, OutputLayoutError, SettingError
from odet_ros.detection.labels import LABEL_FILES, labels_beside, read_labels
from odet_ros.detection.letterbox import Letterboxer, LetterboxGeometry
from odet_ros.detection.masks import MaskHead, decode_masks, find_mask_head
from odet_ros.detection.metadata import ModelInfo, model_info
from odet_ros.detection.nms import class_aware_nms
from odet_ros.detection.types import Detections

log = logging.getLogger(__name__)

DEFAULT_IMGSZ = 640
DEFAULT_CONF = 0.25  # the score threshold of a model that recommends none (Ultralytics' default)
CONF_DECIMALS = 2  # the F1 curve is flat near its peak: two decimals lose nothing worth a setting
LOWEST_CONF = 0.01  # a threshold of 0 would keep every candidate box


def recommended_conf(best_f1_conf: float) -> float:
    """The score threshold to run a model at: its best-F1 confidence on a labelled split
    (``odet train``/``odet export`` record it in the bundle, ``odet eval`` reports it), rounded."""
    return max(LOWEST_CONF, round(best_f1_conf, CONF_DECIMALS))


@dataclass(frozen=True)
class DetectionSettings:
    """Thresholds and filters, changeable between frames (``detector.settings = ...``)."""

    conf: float = DEFAULT_CONF  # keep boxes scoring above this
    iou: float = 0.7  # NMS drops a box overlapping a better one of its class above this IoU
    max_det: int = 300
    classes: tuple[int, ...] | None = None  # class ids to keep; None keeps all
    agnostic: bool = False  # NMS across classes
    masks: bool = True  # a segmentation model's masks; off: its boxes alone, at a detector's cost

    def __post_init__(self) -> None:
        if not 0.0 <= self.conf <= 1.0:
            raise SettingError(f"conf must be within 0-1, not {self.conf}")
        if not 0.0 <= self.iou <= 1.0:
            raise SettingError(f"iou must be within 0-1, not {self.iou}")
        if self.max_det < 1:
            raise SettingError(f"max_det must be at least 1, not {self.max_det}")
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(int(c) for c in self.classes))


class Detector:
    """A loaded model with its settings. Up to :attr:`concurrent_runs` threads may detect at
    once (each thread letterboxes into buffers of its own); settings change between calls."""

    def __init__(
        self,
        backend: InferenceBackend,
        names: list[str],
        input_hw: tuple[int, int],
        output_format: OutputFormat,
        settings: DetectionSettings,
        *,
        resize: str | None = None,
        mask_head: MaskHead | None = None,
    ) -> None:
        self._backend = backend
        self._mask_head = mask_head
        self.names = names
        self.input_size = input_hw  # (height, width) the letterbox targets
        # the threshold the model's bundle recommends (its best-F1 confidence); None: it has none
        self.bundle_conf: float | None = None
        self._format = output_format
        self._letterbox = letterboxer(backend, input_hw, resize)
        self._threads = threading.local()  # each thread's own letterboxer (its buffers are reused)
        self._threads.letterbox = self._letterbox
        self.settings = settings

    @property
    def recommended_conf(self) -> float:
        """The threshold to run this model at: its bundle's, else the default (0.25)."""
        return DEFAULT_CONF if self.bundle_conf is None else self.bundle_conf

    @property
    def backend_name(self) -> str:
        return self._backend.name

    @property
    def model_path(self) -> Path:
        return self._backend.path

    @property
    def output_format(self) -> OutputFormat:
        """How the model's output reads (settled at load, recorded in bundles)."""
        return self._format

    @property
    def input_spec(self) -> InputSpec:
        """The model's input: layout, dtype, and the resize mode in use."""
        return replace(self._backend.input, resize=self._letterbox.resize)

    @property
    def concurrent_runs(self) -> int:
        """How many threads may detect at once: what the backend allows, one for a
        segmentation model (whether masks are made is a setting each round changes)."""
        return 1 if self._mask_head is not None else self._backend.concurrent_runs

    @property
    def segments(self) -> bool:
        """Whether the model is a segmentation model (its detections can carry masks)."""
        return self._mask_head is not None

    @property
    def settings(self) -> DetectionSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: DetectionSettings) -> None:
        if settings.classes is not None:
            unknown = [c for c in settings.classes if not 0 <= c < len(self.names)]
            if unknown:
                raise SettingError(
                    f"classes {unknown} out of range: the model has {len(self.names)} classes"
                )
        self._settings = settings
        self._class_filter = (
            None if settings.classes is None else np.array(settings.classes, np.int64)
        )

    def class_ids(self, selection: Iterable[str | int]) -> tuple[int, ...]:
        """Class ids for a mix of names and ids (``["person", 2]``), for the ``classes`` setting."""
        index = {name: i for i, name in enumerate(self.names)}
        ids = []
        for item in selection:
            if isinstance(item, str) and not item.isdigit():
                if item not in index:
                    raise SettingError(
                        f"classes: unknown class {item!r}; the model has {', '.join(self.names)}"
                    )
                ids.append(index[item])
            else:
                ids.append(int(item))
        return tuple(ids)

    def network_input(self, source_hw: tuple[int, int]) -> tuple[int, int]:
        """(height, width) of the tensor a frame of ``source_hw`` becomes: the fixed input, or
        for a ``.pt`` or dynamic ONNX the stride-aligned rectangle around the resized frame."""
        return self._letterbox.geometry(source_hw).input_hw

    def detect_batch(self, images: Sequence[np.ndarray], colors: Sequence[str]) -> list[Detections]:
        """Detections for several images at once (one frame of each camera), each image's boxes
        in its own pixels, as :meth:`detect` gives them: one run of the network for them all
        where the model takes a batch (a dynamic batch axis, or a fixed one that is padded), one
        run each otherwise."""
        size = self._backend.input.batch
        if size == 1 or len(images) < 2 or self._mask_head is not None:  # -seg: frame by frame
            return [self.detect(image, color) for image, color in zip(images, colors, strict=True)]
        found: list[Detections] = []
        step = size or len(images)
        for start in range(0, len(images), step):
            tensors, geometries = [], []
            chunk = zip(images[start : start + step], colors[start : start + step], strict=True)
            for image, color in chunk:
                tensor, geometry = self.preprocess(image, color)
                tensors.append(tensor.copy())  # the letterboxer reuses its buffer
                geometries.append(geometry)
            found += self._run_batch(tensors, geometries)
        return found

    def _run_batch(
        self, tensors: list[np.ndarray], geometries: list[LetterboxGeometry]
    ) -> list[Detections]:
        """One run on stacked tensors (padded to a fixed batch); tensors of different shapes (a
        dynamic model on cameras of different sizes) run one by one."""
        if len({t.shape for t in tensors}) > 1:
            return [
                self.postprocess(self._backend.run(t), g)
                for t, g in zip(tensors, geometries, strict=True)
            ]
        batch = np.concatenate(tensors)
        size = self._backend.input.batch
        if size > len(tensors):
            batch = np.concatenate(
                [batch, np.zeros((size - len(tensors), *batch.shape[1:]), batch.dtype)]
            )
        output = self._backend.run(batch)
        return [self.postprocess(output[i : i + 1], g) for i, g in enumerate(geometries)]

    def detect(self, image: np.ndarray, color: str = "bgr8") -> Detections:
        """Detect objects in one uint8 image whose channel order is ``color`` (bgr8, rgb8, mono8,
        bgra8, rgba8); boxes come back in its pixels."""
        tensor, geometry = self.preprocess(image, color)
        if self._mask_head is not None:  # the detection output and the prototypes
            output, protos = self._mask_head.split(self._backend.run_all(tensor))
            return self.postprocess(output, geometry, protos)
        if self._backend.input.batch > 1:  # a fixed batch: this frame, padded
            return self._run_batch([tensor], [geometry])[0]
        return self.postprocess(self._backend.run(tensor), geometry)

    def preprocess(
        self, image: np.ndarray, color: str = "bgr8"
    ) -> tuple[np.ndarray, LetterboxGeometry]:
        """The network input tensor of an image, and where the image lies in it. The tensor is a
        buffer the calling thread's next call reuses: run the model on it before preprocessing
        another image."""
        letterbox = getattr(self._threads, "letterbox", None)
        if letterbox is None:
            letterbox = self._threads.letterbox = letterboxer(
                self._backend, self.input_size, self._letterbox.resize
            )
        return letterbox(image, color)

    def postprocess(
        self, output: np.ndarray, geometry: LetterboxGeometry, protos: np.ndarray | None = None
    ) -> Detections:
        """The detections in a network output: decoded, NMS for raw heads, in source pixels;
        with a segmentation model's ``protos`` (nm, h, w), each detection's mask."""
        settings = self._settings
        coefficients = None
        if self._mask_head is not None:
            output, coefficients = self._mask_head.coefficients(output)
        found = decode(output, self._format, geometry.input_hw, settings.conf, self._class_filter)
        keep: np.ndarray | slice
        if self._format.kind != NMS:  # raw heads: NMS is ours
            keep = class_aware_nms(
                found.xyxy,
                found.scores,
                found.class_ids,
                iou=settings.iou,
                max_det=settings.max_det,
                agnostic=settings.agnostic,
            )
        else:
            keep = slice(0, settings.max_det)
        runner_up = found.runner_up
        boxes = geometry.to_source(found.xyxy[keep])
        masks = None
        if coefficients is not None and protos is not None and settings.masks:
            assert found.rows is not None  # decode gives every candidate's row
            masks = decode_masks(coefficients[found.rows[keep]], protos, boxes, geometry)
        detections = Detections.from_arrays(
            boxes,
            found.scores[keep],
            found.class_ids[keep],
            runner_up=None if runner_up is None else (runner_up[0][keep], runner_up[1][keep]),
            masks=masks,
        )
        if masks is not None and not masks.areas().all():  # as Ultralytics: no mask, no detection
            detections = detections.select(masks.areas() > 0)
        return detections

    def run(self, tensor: np.ndarray) -> np.ndarray:
        """The network alone on a prepared input tensor (benchmarks time it)."""
        return self._backend.run(tensor)


def letterboxer(
    backend: InferenceBackend, input_hw: tuple[int, int], resize: str | None = None
) -> Letterboxer:
    """The preprocessing a backend's model expects, for input size ``input_hw``; ``resize``
    (a bundle's) overrides the model's own letterbox or stretch."""
    spec = backend.input
    return Letterboxer(
        input_hw,
        layout=spec.layout,
        dtype=spec.dtype,
        stride=backend.stride,
        resize=resize or spec.resize,
        pixel_range=spec.pixel_range,
    )


def load_detector(
    model: str | Path,
    backend: str | None = None,
    *,
    device: str = "cpu",
    imgsz: int | Sequence[int] | None = None,
    num_threads: int | None = None,
    half: bool = False,
    busy_wait: bool = True,
    concurrent_runs: int = 1,
    conf: float | None = None,
    iou: float = 0.7,
    max_det: int = 300,
    classes: Sequence[int] | None = None,
    agnostic: bool = False,
    labels: str | Path | None = None,
) -> Detector:
    """Open a model (bundle folder, model file or installed bundle name) ready to detect.

    The backend follows the file suffix unless ``backend`` names one. Class names come from
    ``labels`` (a label file, see :mod:`.labels`), else the bundle, else the model's embedded
    metadata, else a label file beside the model (``labels.txt``, ``labelmap.txt`` ...). Input
    size comes from the model, the bundle or the metadata; ``imgsz`` overrides the input size of
    models that accept any (``.pt``, dynamic ONNX). ``conf`` None runs the model at its own
    recommended threshold (:attr:`Detector.recommended_conf`). ``concurrent_runs`` is how many
    threads will detect at once (the node's cameras, up to the cores; see
    :attr:`Detector.concurrent_runs` for what the backend allows). One warm-up inference runs here,
    so a model whose output does not fit its class names fails now, naming the file.

    It also sets OpenCV to one thread for the whole process: OpenCV's pool wakes for a resize
    and competes with the runtime's spinning workers, which doubled the time per frame of an
    ONNX model on 2 cores (bench/detection.py); the detector's own OpenCV work is ~0.2 ms.
    """
    cv2.setNumThreads(1)
    resolved = resolve_model(model)
    path, bundle = resolved.path, resolved.bundle
    bundle_conf = _bundle_conf(bundle)
    settings = DetectionSettings(
        (DEFAULT_CONF if bundle_conf is None else bundle_conf) if conf is None else conf,
        iou,
        max_det,
        None if classes is None else tuple(classes),
        agnostic,
    )
    options = BackendOptions(device, num_threads, half, busy_wait, concurrent_runs)
    opened = open_backend(backend_name(path, backend), path, options)
    try:
        info = model_info(opened.metadata)
    except MetadataError as error:
        raise ModelError(f"{path}: embedded metadata: {error}") from error
    names = read_labels(labels) if labels is not None else _class_names(path, bundle, info)
    input_hw = _input_size(path, bundle, info, opened, imgsz)
    _check_layout(path, bundle, opened)
    output_format, mask_head = _output_format_from_first_run(opened, names, input_hw, bundle, info)
    resize = bundle.resize if bundle is not None else None
    detector = Detector(
        opened, names, input_hw, output_format, settings, resize=resize, mask_head=mask_head
    )
    detector.bundle_conf = bundle_conf
    log.info(
        "loaded %s with %s: %d classes, input %dx%d, %s output",
        path,
        opened.name,
        len(names),
        input_hw[1],
        input_hw[0],
        output_format.kind,
    )
    return detector


def _bundle_conf(bundle: ModelBundle | None) -> float | None:
    """The bundle's recommended threshold (its best-F1 confidence), None where it has none."""
    best = bundle.scores.get("best_f1_conf") if bundle is not None else None
    return recommended_conf(float(best)) if isinstance(best, (int, float)) else None


def _class_names(path: Path, bundle: ModelBundle | None, info: ModelInfo) -> list[str]:
    if bundle is not None:
        return list(bundle.names)
    if info.names:
        return info.names
    beside = labels_beside(path)
    if beside is not None:
        return read_labels(beside)
    raise ModelError(
        f"{path}: no class names: the model carries no metadata; put a label file beside it"
        f" ({' or '.join(LABEL_FILES[:2])}, one name per line), pass labels, or put it in a"
        f" bundle folder with a {BUNDLE_FILE} listing its names"
    )


def _input_size(
    path: Path,
    bundle: ModelBundle | None,
    info: ModelInfo,
    backend: InferenceBackend,
    imgsz: int | Sequence[int] | None,
) -> tuple[int, int]:
    requested = _as_hw(imgsz)
    fixed = backend.input.hw
    if fixed is not None:
        if requested and requested != fixed:
            raise SettingError(
                f"imgsz {requested[1]}x{requested[0]} cannot apply: {path} has a fixed"
                f" input of {fixed[1]}x{fixed[0]}"
            )
        if bundle is not None and bundle.imgsz is not None and bundle.imgsz != fixed:
            raise ModelError(
                f"{path.parent / BUNDLE_FILE}: imgsz {list(bundle.imgsz)} disagrees with"
                f" the model's input {list(fixed)}"
            )
        return fixed
    size = (
        requested
        or (bundle.imgsz if bundle else None)
        or info.imgsz
        or (DEFAULT_IMGSZ, DEFAULT_IMGSZ)
    )
    stride = backend.stride
    if stride:  # round up to the stride, as Ultralytics' check_imgsz does
        size = (-(-size[0] // stride) * stride, -(-size[1] // stride) * stride)
    return size


def _check_layout(path: Path, bundle: ModelBundle | None, backend: InferenceBackend) -> None:
    if bundle is not None and bundle.input_layout not in (None, backend.input.layout):
        raise ModelError(
            f"{path.parent / BUNDLE_FILE}: input_layout {bundle.input_layout} disagrees with"
            f" the model's {backend.input.layout} input"
        )


def _as_hw(imgsz: int | Sequence[int] | None) -> tuple[int, int] | None:
    if imgsz is None:
        return None
    size = (imgsz, imgsz) if isinstance(imgsz, int) else tuple(imgsz)
    if len(size) != 2 or any(int(v) < 1 for v in size):
        raise SettingError(f"imgsz must be a positive int or (height, width), not {imgsz!r}")
    return int(size[0]), int(size[1])


def _output_format_from_first_run(
    backend: InferenceBackend,
    names: list[str],
    input_hw: tuple[int, int],
    bundle: ModelBundle | None,
    info: ModelInfo,
) -> tuple[OutputFormat, MaskHead | None]:
    """Run a grey frame once (first inferences are slow on every runtime) and settle the output
    format from the real output, and the mask head of a segmentation model."""
    h, w = input_hw
    grey = np.full((h, w, 3), 114, np.uint8)
    tensor, _ = letterboxer(backend, input_hw)(grey)
    frames = max(1, backend.input.batch)  # a fixed batch runs full
    try:
        # a copy: LiteRT's output is a view of its buffer, which the next run overwrites
        output = np.array(backend.run(np.repeat(tensor, frames, axis=0))[:1])
        mask_head = find_mask_head(backend.run_all(tensor), len(names)) if frames == 1 else None
    except OutputLayoutError as error:
        raise ModelError(f"{backend.path}: {error}") from error
    except Exception as error:  # each runtime raises its own types for a bad graph
        raise ModelError(f"{backend.path}: inference fails: {error}") from error
    if mask_head is not None:
        output = mask_head.coefficients(output)[0]
    kind = bundle.output_format if bundle and bundle.output_format else backend.output_kind
    if kind is None and info.end2end is not None:
        kind = NMS if info.end2end else RAW
    units = bundle.box_units if bundle and bundle.box_units else None
    try:
        fmt = resolve_output_format(
            tuple(output.shape), len(names), input_hw, kind=kind, box_units=units, sample=output
        )
    except OutputLayoutError as error:
        raise ModelError(f"{backend.path}: {error}") from error
    convention = None if units else backend.box_units(fmt.kind)
    return (replace(fmt, box_units=convention) if convention else fmt), mask_head
