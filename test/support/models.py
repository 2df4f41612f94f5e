"""A tiny detector trained here, its exports and Ultralytics' own predictions, for the parity tests.

Three coloured shapes (circle, square, triangle) on textured backgrounds are easy enough for a
YOLO11n trained from its YAML to find after a minute on a CPU. The recipe below is hashed and
everything built from it lives in ``<repo>/.cache/test-models/<hash>/``, so the first run pays
for training and export (a few minutes on 2 cores) and later runs, the robot profile included,
reuse the files. The robot profile has no Ultralytics: it compares against the predictions
Ultralytics made when the cache was built (``reference.json``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from odet_ros.detection.types import Detections

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "test-models"
REFERENCE_FILE = "reference.json"  # the tools' predictions, stored with the models
NAMES = ["circle", "square", "triangle"]
COLORS = [(40, 40, 220), (40, 200, 40), (220, 60, 40)]  # BGR, one per class
TRAIN_SIZES = [(160, 160), (224, 224), (180, 320), (320, 180), (240, 240)]  # (h, w)
PARITY_SIZES = [(160, 160), (224, 224), (180, 320), (320, 180), (197, 263), (480, 640)]
REFERENCE_CONF = 0.1  # low, so each image has several boxes, overlapping ones included
E2E_CONF = 0.0  # the untrained YOLO26 scores every box alike and low: keep all 300
REFERENCE_IOU = 0.7

RECIPE = {
    "version": 1,
    "names": NAMES,
    "train_images": 60,
    "val_images": 12,
    "model": "yolo11n.yaml",
    "epochs": 50,
    "imgsz": 160,
    "batch": 16,
    "optimizer": "AdamW",
    "lr0": 0.004,
    "exports": [
        "onnx",
        "onnx-nms",
        "onnx-dynamic",
        "litert",
        "litert-int8",
        "yolo26-e2e-onnx",
        "yolo26-e2e-litert",
    ],
    "e2e_model": "yolo26n.yaml",
    "integer_io": "tiny.tflite quantized static int8 with int8 input and output",
    "parity_sizes": PARITY_SIZES,
    "reference": {"conf": REFERENCE_CONF, "e2e_conf": E2E_CONF, "iou": REFERENCE_IOU},
}
# model file -> (the checkpoint it is exported from, Ultralytics export arguments besides imgsz).
# yolo26.pt is an untrained YOLO26n: its end-to-end head ([1, 300, 6], NMS-free) needs no
# training to test the layout, the units and the mapping back to source pixels.
EXPORTS = {
    "tiny.onnx": ("tiny.pt", {"format": "onnx"}),
    "tiny_nms.onnx": ("tiny.pt", {"format": "onnx", "nms": True}),
    "tiny_dynamic.onnx": ("tiny.pt", {"format": "onnx", "dynamic": True}),
    "tiny.tflite": ("tiny.pt", {"format": "litert"}),
    "tiny_int8.tflite": ("tiny.pt", {"format": "litert", "quantize": 8}),
    "yolo26_e2e.onnx": ("yolo26.pt", {"format": "onnx", "nms": False}),
    "yolo26_e2e.tflite": ("yolo26.pt", {"format": "litert", "nms": False}),
}
MODEL_FILES = ("tiny.pt", *EXPORTS)
INTEGER_IO = "tiny_int8_io.tflite"  # no Ultralytics reference: it quantizes input by truncation


def reference_conf(name: str) -> float:
    """The score threshold parity is checked at for a model file."""
    return E2E_CONF if name.startswith("yolo26") else REFERENCE_CONF


def recipe_hash() -> str:
    return hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:12]


def draw_scene(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured background with 1-3 filled shapes; returns the BGR image and YOLO labels
    (class, cx, cy, w, h normalised)."""
    coarse = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    image = cv2.GaussianBlur(cv2.resize(coarse, (width, height)), (0, 0), 2)
    image = np.clip(image * 0.5 + 60 + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
    labels = []
    for _ in range(rng.integers(1, 4)):
        cls = int(rng.integers(0, len(NAMES)))
        r = int(rng.integers(min(height, width) // 6, min(height, width) // 3))
        cx, cy = int(rng.integers(r, width - r)), int(rng.integers(r, height - r))
        if cls == 0:
            cv2.circle(image, (cx, cy), r, COLORS[cls], -1)
        elif cls == 1:
            cv2.rectangle(image, (cx - r, cy - r), (cx + r, cy + r), COLORS[cls], -1)
        else:
            triangle = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
            cv2.fillPoly(image, [triangle], COLORS[cls])
        labels.append((cls, cx / width, cy / height, 2 * r / width, 2 * r / height))
    return image, np.array(labels, np.float64)


def write_dataset(
    root: Path,
    seed: int = 0,
    train_images: int | None = None,
    train_sizes: Sequence[tuple[int, int]] = TRAIN_SIZES,
) -> Path:
    """The YOLO dataset (train and val) the tiny model learns from; returns its data.yaml.
    ``train_sizes``: the (h, w) of the training images in turn (val keeps TRAIN_SIZES)."""
    rng = np.random.default_rng(seed)
    counts = {"train": train_images or RECIPE["train_images"], "val": RECIPE["val_images"]}
    for split, count in counts.items():
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        sizes = train_sizes if split == "train" else TRAIN_SIZES
        for i in range(count):
            image, labels = draw_scene(rng, *sizes[i % len(sizes)])
            cv2.imwrite(str(root / split / "images" / f"{i:03d}.png"), image)
            lines = [f"{int(c)} {x:.6f} {y:.6f} {w:.6f} {h:.6f}" for c, x, y, w, h in labels]
            (root / split / "labels" / f"{i:03d}.txt").write_text("\n".join(lines) + "\n")
    return write_data_yaml(root)


def write_data_yaml(root: Path) -> Path:
    """data.yaml with the absolute path of ``root`` (again after the cache folder's rename)."""
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(NAMES))
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: train/images\nval: val/images\nnames:\n{names}\n")
    return data


def write_parity_images(
    folder: Path,
    seed: int = 1,
    draw: Callable[[np.random.Generator, int, int], tuple[np.ndarray, Any]] = draw_scene,
    sizes: Sequence[tuple[int, int]] = PARITY_SIZES,
) -> list[Path]:
    """Unseen scenes (``draw``) at square, landscape, portrait and odd sizes (PNG: identical
    everywhere)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    paths = []
    for h, w in sizes:
        path = folder / f"scene_{w}x{h}.png"
        cv2.imwrite(str(path), draw(rng, h, w)[0])
        paths.append(path)
    return paths


def ultralytics_predictions(model: Path, images: list[Path]) -> dict[str, Detections]:
    """What Ultralytics' own ``YOLO(model).predict`` finds in each image, one image per call."""
    from odet_ros.ultralytics_env import import_ultralytics

    yolo = import_ultralytics().YOLO(str(model), task="detect")
    conf = reference_conf(model.name)
    found = {}
    for path in images:
        boxes = yolo.predict(cv2.imread(str(path)), conf=conf, iou=REFERENCE_IOU, verbose=False)[
            0
        ].boxes
        found[path.name] = Detections.from_arrays(
            boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy()
        )
    return found


@dataclass(frozen=True)
class CachedModels:
    """A cache folder of models trained on the shapes: the files, the parity images, the
    dataset they learnt."""

    folder: Path

    @property
    def names(self) -> list[str]:
        return NAMES

    def model(self, name: str) -> Path:
        return self.folder / name

    @property
    def images(self) -> list[Path]:
        return sorted((self.folder / "images").glob("*.png"))

    @property
    def data_yaml(self) -> Path:
        return self.folder / "dataset" / "data.yaml"

    def stored_reference(self, name: str) -> dict[str, Detections]:
        """A tool's predictions for a model file, stored when the cache was built."""
        stored = json.loads((self.folder / REFERENCE_FILE).read_text())[name]
        return {image: Detections.from_arrays(**arrays) for image, arrays in stored.items()}


@dataclass(frozen=True)
class TinyModels(CachedModels):
    """The cached models, parity images and Ultralytics' reference predictions."""

    def reference(self, name: str) -> dict[str, Detections]:
        """Ultralytics' predictions for a model file: live when Ultralytics imports, else the
        ones stored when the cache was built."""
        try:
            import ultralytics  # noqa: F401
        except ImportError:
            return self.stored_reference(name)
        return ultralytics_predictions(self.model(name), self.images)


def cached_models() -> TinyModels | None:
    folder = CACHE / recipe_hash()
    return TinyModels(folder) if (folder / REFERENCE_FILE).is_file() else None


def write_integer_io_model(float_model: Path, calibration: Path, target: Path) -> None:
    """A full-integer copy of a float LiteRT model, int8 input and output included (what older
    converters and third-party tools produce; Ultralytics keeps float I/O), with its metadata."""
    from ai_edge_quantizer import quantizer, recipe

    from odet_ros.detection.letterbox import Letterboxer

    letterbox = Letterboxer((RECIPE["imgsz"], RECIPE["imgsz"]))
    samples = [
        {"args_0": letterbox(cv2.imread(str(p)))[0].copy()}
        for p in sorted(calibration.glob("*.png"))
    ]
    quantize = quantizer.Quantizer(str(float_model))
    quantize.load_quantization_recipe(recipe.static_wi8_ai8())
    result = quantize.calibrate({"serving_default": samples})
    quantize.quantize(calibration_result=result).export_model(str(target), overwrite=True)
    with zipfile.ZipFile(float_model) as source, zipfile.ZipFile(target, "a") as archive:
        archive.writestr("metadata.json", source.read("metadata.json"))


def train_recipe(
    yolo_class: Any, recipe: dict[str, Any], data: Path, weights: Path, **extra: Any
) -> None:
    """Train ``recipe``'s model on ``data`` on the CPU, deterministically, quietly, into
    ``weights`` (the last epoch's); ``extra``: more of Ultralytics' training arguments."""
    run = weights.parent / "runs"
    yolo_class(recipe["model"]).train(
        data=str(data),
        epochs=recipe["epochs"],
        imgsz=recipe["imgsz"],
        batch=recipe["batch"],
        optimizer=recipe["optimizer"],
        lr0=recipe["lr0"],
        warmup_epochs=1,
        close_mosaic=10,
        workers=0,
        device="cpu",
        amp=False,
        plots=False,
        val=False,
        seed=0,
        deterministic=True,
        project=str(run),
        name="train",
        verbose=False,
        **extra,
    )
    shutil.copy(run / "train" / "weights" / "last.pt", weights)


def build_models() -> TinyModels:
    """Train, export and record references into the cache (needs Ultralytics); idempotent."""
    existing = cached_models()
    if existing is not None:
        return existing
    from odet_ros.ultralytics_env import import_ultralytics

    yolo_class = import_ultralytics().YOLO
    final = CACHE / recipe_hash()
    work = CACHE / f"{final.name}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    data = write_dataset(work / "dataset")
    images = write_parity_images(work / "images")
    train_recipe(yolo_class, RECIPE, data, work / "tiny.pt")
    yolo_class(RECIPE["e2e_model"]).save(str(work / "yolo26.pt"))
    for name, (source, arguments) in EXPORTS.items():  # each in its own folder: names clash
        folder = work / "exports" / name.replace(".", "_")
        folder.mkdir(parents=True)
        shutil.copy(work / source, folder / source)
        exported = yolo_class(str(folder / source)).export(
            imgsz=RECIPE["imgsz"], data=str(data), verbose=False, **arguments
        )
        Path(exported).replace(work / name)
    write_integer_io_model(
        work / "tiny.tflite", work / "dataset" / "val" / "images", work / INTEGER_IO
    )
    reference = {
        name: {
            image: {
                "xyxy": d.xyxy.tolist(),
                "scores": d.scores.tolist(),
                "class_ids": d.class_ids.tolist(),
            }
            for image, d in ultralytics_predictions(work / name, images).items()
        }
        for name in MODEL_FILES
    }
    (work / REFERENCE_FILE).write_text(json.dumps(reference))
    shutil.rmtree(work / "runs")
    shutil.rmtree(work / "exports")
    try:
        work.rename(final)
        write_data_yaml(final / "dataset")
    except OSError:  # another process finished first
        shutil.rmtree(work)
    return TinyModels(final)
