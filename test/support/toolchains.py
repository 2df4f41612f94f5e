"""Tiny models of the other toolchains a team brings (YOLOv5, TensorFlow's TFLite detectors),
built here with those tools' own code, and the tools' own predictions, for the parity tests.

`build_toolchains.py` runs in `.venv-toolchains` (the `yolov5` package and TensorFlow, whose
pins clash with ours; scripts/test.sh sets it up over .venv): it trains a YOLOv5 from the
package's model YAML and exports it with its own export.py, trains a small SSD in TensorFlow
and converts it with TFLite's converter (the detection post-process op included), then records
what each tool's own inference finds on the parity images. Everything lands in
``<repo>/.cache/test-models/toolchains-<hash>/`` (recipe and build script hashed), so the robot
profiles, which have neither tool, compare against the stored predictions.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from odet_ros.detection.types import Detections
from support.models import CACHE, NAMES, REFERENCE_FILE, REPO, CachedModels, write_data_yaml

BUILD_SCRIPT = Path(__file__).with_name("build_toolchains.py")
YOLOV5_CONF = 0.05  # the briefly trained YOLOv5 scores its boxes 0.05-0.8
SSD_CONF = 0.3
REFERENCE_IOU = 0.45  # YOLOv5's detect.py default
RECIPE = {
    "version": 2,
    "names": NAMES,
    "yolov5": {
        "package": "yolov5==7.0.14",
        "model": "yolov5n.yaml with width_multiple 0.125",
        "train_images": 64,
        "train_size": 160,  # the scenes drawn at 160x160, the input size: nothing to resize
        "epochs": 20,  # 160 steps: its warm-up takes 100 whatever the epochs
        "imgsz": 160,
        "batch": 8,
        "optimizer": "AdamW",
        # its loss gains scale with (imgsz / 640)^2 and classes / 80: at 160 px and 3 classes
        # objectness and classes would learn too slowly for 160 steps
        "hyp": {
            "lr0": 0.005,
            "warmup_bias_lr": 0.0,
            "obj": 4.0,
            "cls": 2.0,
            "mosaic": 0.0,
            "hsv_h": 0.0,
        },
        # export.py's arguments besides --weights and --imgsz, and the files each run makes:
        # the documented commands (test_readme_own_models holds them to these)
        "exports": [
            [["yolov5.onnx", "yolov5-fp16.tflite"], "--include onnx tflite"],
            [["yolov5-int8.tflite"], "--include tflite --int8 --data data.yaml"],
            [["yolov5_dynamic.onnx"], "--include onnx --dynamic"],
        ],
    },
    "ssd": {"imgsz": 128, "train_images": 240, "epochs": 30, "anchors": "8x8 grid, 0.3 and 0.5"},
    "reference": {"yolov5_conf": YOLOV5_CONF, "ssd_conf": SSD_CONF, "iou": REFERENCE_IOU},
    "threads": 1,  # torch's and TensorFlow's: training ran 5x faster than on 2 busy cores
}
# YOLOv5's int8 TFLite takes uint8 input, which its DetectMultiBackend quantises by truncation
# (``(x / scale + zero_point).astype(np.uint8)``) where TFLite's own Quantize op, and odet, round:
# this reference is its pipeline with that one step rounding (see build_toolchains.py).
ROUNDED_INPUT = "yolov5-int8.tflite, input rounded"
# model file -> the reference it is held to: a dynamic ONNX runs on the .pt's stride-aligned
# rectangle, so the .pt's predictions are its reference
YOLOV5_MODELS = {
    "yolov5.pt": "yolov5.pt",
    "yolov5.onnx": "yolov5.onnx",
    "yolov5_dynamic.onnx": "yolov5.pt",
    "yolov5-fp16.tflite": "yolov5-fp16.tflite",
    "yolov5-int8.tflite": ROUNDED_INPUT,
}
# model file -> its outputs in the order its exported function returns them (the signature's
# output_0..3): the detection post-process op's own order, and the order TensorFlow 2's Object
# Detection API exports return them. The converter then lists a file's outputs in an order of
# its own (function outputs 1, 3, 0, 2): boxes first in one file, classes first in the other.
SSD_OUTPUTS = {
    "ssd.tflite": ("boxes", "classes", "scores", "count"),
    "ssd_uint8.tflite": ("boxes", "classes", "scores", "count"),
    "ssd_reordered.tflite": ("scores", "boxes", "count", "classes"),
}
SSD_MODELS = tuple(SSD_OUTPUTS)
LABELMAP = "labelmap.txt"  # TensorFlow's format: a ??? background first
STAGES = ("ssd", "yolov5")  # one process each: TensorFlow and torch crash in one process


def recipe_hash() -> str:
    blob = json.dumps(RECIPE, sort_keys=True).encode() + BUILD_SCRIPT.read_bytes()
    return hashlib.sha256(blob).hexdigest()[:12]


def conf_for(name: str) -> float:
    return SSD_CONF if name.startswith("ssd") else YOLOV5_CONF


@dataclass(frozen=True)
class ToolchainModels(CachedModels):
    """The cached models, the parity images and each tool's own predictions."""

    def reference(self, name: str) -> dict[str, Detections]:
        return self.stored_reference(name)


def toolchains_python() -> Path | None:
    """The interpreter of the toolchains' venv: $ODET_TOOLCHAINS_PYTHON, else .venv-toolchains."""
    given = os.environ.get("ODET_TOOLCHAINS_PYTHON")
    python = Path(given) if given else REPO / ".venv-toolchains" / "bin" / "python"
    return python if python.is_file() else None


def cached_toolchain_models() -> ToolchainModels | None:
    folder = CACHE / f"toolchains-{recipe_hash()}"
    return ToolchainModels(folder) if (folder / REFERENCE_FILE).is_file() else None


def build_toolchain_models(python: Path) -> ToolchainModels:
    """Run the build script with the toolchains' interpreter into the cache; idempotent."""
    existing = cached_toolchain_models()
    if existing is not None:
        return existing
    final = CACHE / f"toolchains-{recipe_hash()}"
    work = CACHE / f"{final.name}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work.with_suffix(".log")
    reference = {}
    with log.open("w") as stream:
        for stage in STAGES:
            built = subprocess.run(
                [str(python), str(BUILD_SCRIPT), str(work), stage],
                stdout=stream,
                stderr=subprocess.STDOUT,
                check=False,
            )
            if built.returncode != 0:
                raise RuntimeError(f"building the {stage} test models failed, see {log}")
            staged = work / f"reference-{stage}.json"
            reference |= json.loads(staged.read_text())
            staged.unlink()
    (work / REFERENCE_FILE).write_text(json.dumps(reference))
    try:
        work.rename(final)
        write_data_yaml(final / "dataset")
    except OSError:  # another process finished first
        shutil.rmtree(work)
    log.unlink(missing_ok=True)
    return ToolchainModels(final)
