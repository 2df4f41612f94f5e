"""A tiny segmentation model trained here, its exports and Ultralytics' own predictions with
masks, for the mask tests (as support/models.py does for the detector).

The shapes of support/models.py, drawn as the polygons their labels give (a circle as a
48-gon), never overlapping, so that each label polygon is exactly the pixels of its object. A
YOLO11n-seg trained from its YAML at 160 px learns them in about 3 minutes on 2 cores; the recipe
is hashed and everything built from it lives in ``<repo>/.cache/test-models/seg-<hash>/``. The
robot profile has no Ultralytics: it compares against the predictions stored when the cache was
built (``reference.json``, masks as COCO RLE).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from odet_ros.detection.types import Detections
from odet_ros.labels.rle import decode_counts, encode_counts, rle_counts

from .models import (
    CACHE,
    COLORS,
    NAMES,
    CachedModels,
    train_recipe,
    write_data_yaml,
    write_parity_images,
)

TRAIN_SIZES = [(160, 160), (128, 192), (192, 128), (160, 224)]  # (h, w)
PARITY_SIZES = [(160, 160), (240, 320), (320, 240), (197, 263), (480, 640)]
REFERENCE_CONF = 0.25
REFERENCE_IOU = 0.7
CIRCLE_POINTS = 48

RECIPE = {
    "version": 1,
    "names": NAMES,
    "train_images": 48,
    "val_images": 12,
    "model": "yolo11n-seg.yaml",
    "epochs": 80,
    "imgsz": 160,
    "batch": 16,
    "optimizer": "AdamW",
    "lr0": 0.004,
    "mosaic": 0.0,  # small images of a few shapes: mosaic only shrinks them
    "cls": 3.0,  # scores of 0.7-0.9 after 80 epochs (0.5: ~0.1, too low to test at 0.25)
    "exports": {"seg.onnx": {"format": "onnx"}, "seg.tflite": {"format": "litert"}},
    "int8": "seg_int8.tflite: litert quantize=8 calibrated on train",
    "parity_sizes": PARITY_SIZES,
    "reference": {"conf": REFERENCE_CONF, "iou": REFERENCE_IOU, "retina_masks": True},
}
EXPORTS: dict[str, dict[str, object]] = {
    "seg.onnx": {"format": "onnx"},
    "seg.tflite": {"format": "litert"},
    "seg_int8.tflite": {"format": "litert", "quantize": 8},
}
MODEL_FILES = ("seg.pt", *EXPORTS)


def recipe_hash() -> str:
    return hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:12]


def shape_polygon(cls: int, cx: float, cy: float, r: float) -> np.ndarray:
    """The outline of a shape in pixels: circle (a 48-gon), square or triangle."""
    if cls == 0:
        angles = np.linspace(0, 2 * np.pi, CIRCLE_POINTS, endpoint=False)
        return np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)])
    if cls == 1:
        return np.array([[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]])
    return np.array([[cx, cy - r], [cx + r, cy + r], [cx - r, cy + r]])


def draw_seg_scene(
    rng: np.random.Generator, height: int, width: int
) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """A textured background with 1-3 shapes that do not overlap; returns the BGR image and
    each shape's class and outline in pixels."""
    coarse = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    image = cv2.GaussianBlur(cv2.resize(coarse, (width, height)), (0, 0), 2)
    image = np.clip(image * 0.5 + 60 + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
    shapes: list[tuple[int, np.ndarray]] = []
    placed: list[tuple[float, float, float]] = []
    for _ in range(int(rng.integers(1, 4))):
        cls = int(rng.integers(0, len(NAMES)))
        r = float(rng.integers(min(height, width) // 7, min(height, width) // 4))
        cx, cy = float(rng.uniform(r, width - r)), float(rng.uniform(r, height - r))
        if any(np.hypot(cx - x, cy - y) < 1.5 * (r + s) for x, y, s in placed):
            continue
        polygon = shape_polygon(cls, cx, cy, r)
        cv2.fillPoly(image, [np.round(polygon * 16).astype(np.int32)], COLORS[cls], shift=4)
        shapes.append((cls, polygon))
        placed.append((cx, cy, r))
    return image, shapes


def write_seg_dataset(root: Path, seed: int = 0) -> Path:
    """The YOLO-seg dataset (train and val) the tiny model learns from; returns its data.yaml."""
    rng = np.random.default_rng(seed)
    counts = {"train": RECIPE["train_images"], "val": RECIPE["val_images"]}
    for split, count in counts.items():
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        for i in range(int(count)):  # type: ignore[call-overload]
            height, width = TRAIN_SIZES[i % len(TRAIN_SIZES)]
            image, shapes = draw_seg_scene(rng, height, width)
            cv2.imwrite(str(root / split / "images" / f"{i:03d}.png"), image)
            lines = [
                f"{cls} " + " ".join(f"{v:.6f}" for v in (polygon / [width, height]).ravel())
                for cls, polygon in shapes
            ]
            (root / split / "labels" / f"{i:03d}.txt").write_text("\n".join(lines) + "\n")
    return write_data_yaml(root)


def write_seg_parity_images(folder: Path) -> list[Path]:
    return write_parity_images(folder, seed=7, draw=draw_seg_scene, sizes=PARITY_SIZES)


@dataclass(frozen=True)
class Prediction:
    """Ultralytics' predictions for one image: boxes, scores, classes and full-image masks."""

    detections: Detections
    masks: np.ndarray  # (N, H, W) bool


def ultralytics_predictions(model: Path, images: list[Path]) -> dict[str, Prediction]:
    """``YOLO(model).predict(..., retina_masks=True)``: masks at the image's own pixels."""
    from odet_ros.ultralytics_env import import_ultralytics

    yolo = import_ultralytics().YOLO(str(model), task="segment")
    found = {}
    for path in images:
        image = cv2.imread(str(path))
        result = yolo.predict(
            image, conf=REFERENCE_CONF, iou=REFERENCE_IOU, retina_masks=True, verbose=False
        )[0]
        boxes = result.boxes
        masks = (
            result.masks.data.numpy() > 0.5
            if result.masks is not None
            else np.zeros((0, *image.shape[:2]), bool)
        )
        detections = Detections.from_arrays(
            boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy()
        )
        found[path.name] = Prediction(detections, masks)
    return found


@dataclass(frozen=True)
class TinySegModels(CachedModels):
    """The cached segmentation model, its exports, the data it learnt and the references."""

    def reference(self, name: str) -> dict[str, Prediction]:
        """Ultralytics' predictions for a model file: live where Ultralytics imports, else the
        ones stored when the cache was built."""
        try:
            import ultralytics  # noqa: F401
        except ImportError:
            stored = json.loads((self.folder / "reference.json").read_text())[name]
            return {image: _from_json(entry) for image, entry in stored.items()}
        return ultralytics_predictions(self.model(name), self.images)


def _to_json(prediction: Prediction) -> dict[str, object]:
    d = prediction.detections
    return {
        "xyxy": d.xyxy.tolist(),
        "scores": d.scores.tolist(),
        "class_ids": d.class_ids.tolist(),
        "hw": list(prediction.masks.shape[1:]),
        "masks": [encode_counts(rle_counts(m)) for m in prediction.masks],
    }


def _from_json(entry: dict[str, object]) -> Prediction:
    height, width = entry["hw"]  # type: ignore[misc]
    masks = [
        np.repeat(np.arange(len(c)) % 2 == 1, c).reshape(width, height).T
        for c in (decode_counts(text) for text in entry["masks"])  # type: ignore[union-attr]
    ]
    detections = Detections.from_arrays(
        np.array(entry["xyxy"]), np.array(entry["scores"]), np.array(entry["class_ids"])
    )
    return Prediction(detections, np.array(masks, bool).reshape(-1, height, width))


def cached_seg_models() -> TinySegModels | None:
    folder = CACHE / f"seg-{recipe_hash()}"
    return TinySegModels(folder) if (folder / "reference.json").is_file() else None


def build_seg_models() -> TinySegModels:
    """Train, export and record references into the cache (needs Ultralytics); idempotent."""
    existing = cached_seg_models()
    if existing is not None:
        return existing
    from odet_ros.ultralytics_env import import_ultralytics

    yolo_class = import_ultralytics().YOLO
    final = CACHE / f"seg-{recipe_hash()}"
    work = CACHE / f"{final.name}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    data = write_seg_dataset(work / "dataset")
    images = write_seg_parity_images(work / "images")
    train_recipe(
        yolo_class, RECIPE, data, work / "seg.pt", mosaic=RECIPE["mosaic"], cls=RECIPE["cls"]
    )
    for name, arguments in EXPORTS.items():  # each in its own folder: names clash
        folder = work / "exports" / name.replace(".", "_")
        folder.mkdir(parents=True)
        shutil.copy(work / "seg.pt", folder / "seg.pt")
        exported = yolo_class(str(folder / "seg.pt")).export(
            imgsz=RECIPE["imgsz"], data=str(data), verbose=False, **arguments
        )
        Path(exported).replace(work / name)
    reference = {
        name: {
            image: _to_json(prediction)
            for image, prediction in ultralytics_predictions(work / name, images).items()
        }
        for name in MODEL_FILES
    }
    (work / "reference.json").write_text(json.dumps(reference))
    shutil.rmtree(work / "runs")
    shutil.rmtree(work / "exports")
    try:
        work.rename(final)
        write_data_yaml(final / "dataset")
    except OSError:  # another process finished first
        shutil.rmtree(work)
    return TinySegModels(final)
