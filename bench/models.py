"""One model in four forms, as ``odet export`` makes them: CPU latency and accuracy.

The tiny YOLO11n trained here (test/support/models.py, imgsz 160) as its ``.pt``, ONNX, TFLite
fp32 and TFLite int8 (calibrated on its train split, box decoding in float) bundles, each run
through the detector the robot uses.

- ``<form>_ms_per_frame``: median time of ``Detector.detect`` per frame (letterbox, inference,
  decode, NMS) over interleaved rounds; ``<form>_latency_ratio_vs_onnx`` against ONNX.
- ``<form>_map50_95``: COCO-mode mAP50-95 on 96 scenes generated for this bench (none seen in
  training); ``<form>_map_ratio_vs_onnx`` against ONNX.
- ``tflite_int8_speedup_vs_fp32``: TFLite fp32 time over int8 time. Target >= 1.5.
- ``tflite_int8_map_drop_points``: mAP50-95 of TFLite fp32 minus int8, in points. Target < 2.

Exports are cached in ``.cache/bench-models/``, the int8 one also per version of the quantisation
code (the first run exports: about a minute more).
Run: ``.venv/bin/python bench/models.py`` (about 40 s on 2 cores once cached).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))

from support.models import NAMES, TRAIN_SIZES, TinyModels, build_models, draw_scene  # noqa: E402

from odet_ros.detection import load_detector  # noqa: E402
from odet_ros.evaluation import evaluate_models  # noqa: E402
from odet_ros.training.export import ExportSettings, export_model  # noqa: E402

CACHE = REPO / ".cache" / "bench-models"
FORMS = {"pt": None, "onnx": "onnx", "tflite_fp32": "tflite", "tflite_int8": "tflite-int8"}
QUANTIZATION_CODE = ("quantize.py", "calibration.py")  # in odet_ros/training/
EVAL_IMAGES = 96
FRAMES = 4
ROUNDS = 9
SETTLE_S = 0.3  # PyTorch's worker threads spin after work and would slow the next method


def bundles(tiny: TinyModels) -> dict[str, Path]:
    """The four forms of the tiny model and the scenes to score them on; exports are cached per
    tiny-model version."""
    folder = CACHE / tiny.folder.name
    calibration = training_data(tiny, folder / "train.yaml")
    models = {"data": scenes(folder / "scenes"), "pt": tiny.model("tiny.pt")}
    for form, fmt in FORMS.items():
        if fmt is not None:
            out = folder / (f"{form}-{quantization_code()}" if form == "tflite_int8" else form)
            if not out.is_dir():
                with contextlib.redirect_stdout(sys.stderr):  # stdout is for the figures
                    settings = ExportSettings(tiny.model("tiny.pt"), fmt, data=calibration, out=out)
                    export_model(settings)
            models[form] = out
    return models


def quantization_code() -> str:
    """A digest of the int8 recipe's code, so that a changed recipe is exported and measured."""
    sources = (REPO / "odet_ros" / "training" / name for name in QUANTIZATION_CODE)
    return hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:12]


def training_data(tiny: TinyModels, data: Path) -> Path:
    """The tiny model's own dataset, for int8 calibration on its train split."""
    if not data.exists():
        root = tiny.data_yaml.parent
        config = {"path": str(root), "train": "train/images", "val": "val/images"}
        data.parent.mkdir(parents=True, exist_ok=True)
        data.write_text(yaml.safe_dump({**config, "names": NAMES}))
    return data


def scenes(root: Path) -> Path:
    """Labelled scenes the model never saw, at the training sizes; returns the data.yaml."""
    data = root / "data.yaml"
    if data.exists():
        return data
    work = root.with_name(root.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    rng = np.random.default_rng(7)
    for folder in ("images", "labels"):
        (work / "val" / folder).mkdir(parents=True)
    for i in range(EVAL_IMAGES):
        image, labels = draw_scene(rng, *TRAIN_SIZES[i % len(TRAIN_SIZES)])
        cv2.imwrite(str(work / "val" / "images" / f"{i:03d}.png"), image)
        rows = [f"{int(c)} {x:.6f} {y:.6f} {w:.6f} {h:.6f}" for c, x, y, w, h in labels]
        (work / "val" / "labels" / f"{i:03d}.txt").write_text("\n".join(rows) + "\n")
    config = {"path": str(root), "train": "val/images", "val": "val/images", "names": NAMES}
    (work / "data.yaml").write_text(yaml.safe_dump(config))
    work.rename(root)
    return data


def ms_per_frame(models: dict[str, Path], frames: list[np.ndarray]) -> dict[str, float]:
    """Median over interleaved rounds (so load from other processes hits every form alike)."""
    detectors = {form: load_detector(models[form], imgsz=160) for form in FORMS}
    for detector in detectors.values():
        detector.detect(frames[0])  # warm-up
    rounds: dict[str, list[float]] = {form: [] for form in FORMS}
    for _ in range(ROUNDS):
        for form, detector in detectors.items():
            time.sleep(SETTLE_S)
            start = time.perf_counter()
            for frame in frames:
                detector.detect(frame)
            rounds[form].append((time.perf_counter() - start) / len(frames))
    return {form: 1e3 * statistics.median(times) for form, times in rounds.items()}


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    models = bundles(build_models())
    data = models["data"]
    forms = list(FORMS)
    evaluations = evaluate_models(
        [models[f] for f in forms], data, "val", imgsz=160, progress=False
    )
    accuracy = {f: e.evaluation.summary.map50_95 for f, e in zip(forms, evaluations, strict=True)}
    images = sorted((data.parent / "val" / "images").glob("*.png"))[:FRAMES]
    latency = ms_per_frame(models, [cv2.imread(str(p)) for p in images])
    figures = {}
    for form in forms:
        figures[f"{form}_ms_per_frame"] = latency[form]
        figures[f"{form}_latency_ratio_vs_onnx"] = latency[form] / latency["onnx"]
    for form in forms:
        figures[f"{form}_map50_95"] = accuracy[form]
        figures[f"{form}_map_ratio_vs_onnx"] = accuracy[form] / accuracy["onnx"]
    figures["tflite_int8_speedup_vs_fp32"] = latency["tflite_fp32"] / latency["tflite_int8"]
    drop = 100 * (accuracy["tflite_fp32"] - accuracy["tflite_int8"])
    figures["tflite_int8_map_drop_points"] = drop
    for name, value in figures.items():
        print(f"{name}: {value:.4f}")


if __name__ == "__main__":
    main()
