"""The whole workflow on the bundled sample, as the `odet` commands a user would type.

Each step is an ``odet`` command line run in this process through :func:`odet_ros.cli.main.main`,
so the command printed in the report is exactly what reproduces the step. Outputs go under one
folder; the report (:mod:`odet_ros.demo.report`) reads them back.
"""

from __future__ import annotations

import json
import shlex
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from odet_ros.demo.errors import DemoError
from odet_ros.demo.verdict import MAX_DROP_POINTS
from odet_ros.sample.recording import DEPTH_TOPIC, GROUND_TRUTH_3D_FILE, IMAGE_TOPIC

MARKER = "demo.json"  # marks a folder as a demo's, so a re-run may clear it
TASKS = ("detect", "segment")


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of the run; :meth:`quick_run` is the CI run: every step, fewer frames and epochs.
    The targets are the same for both (:mod:`odet_ros.demo.verdict`)."""

    seed: int = 0
    segments: int = 12
    frames_per_segment: int = 45
    width: int = 320
    height: int = 240
    epochs: int = 20
    imgsz: int = 256
    blur_threshold: float = 100.0
    duplicate_threshold: float = 3.0
    quick: bool = False  # under-trained on purpose: its verdict is whether the pipeline works
    task: str = "detect"  # detect | segment: a YOLO11n-seg on the sample's outlines

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DemoError(f"--task must be one of {', '.join(TASKS)}, not {self.task!r}")

    @property
    def model(self) -> str:
        """The model YAML trained from scratch."""
        return "yolo11n-seg.yaml" if self.task == "segment" else "yolo11n.yaml"

    @classmethod
    def quick_run(cls, seed: int = 0, task: str = "detect") -> DemoSettings:
        return cls(
            seed=seed,
            segments=8,
            frames_per_segment=30,
            width=160,
            height=120,
            epochs=15,
            imgsz=160,
            quick=True,
            task=task,
        )


@dataclass(frozen=True)
class Step:
    """One workflow step: what it is, the odet command, where its results land."""

    key: str
    title: str
    argv: tuple[str, ...]

    @property
    def command(self) -> str:
        return "odet " + shlex.join(self.argv)


@dataclass
class StepRun:
    step: Step
    seconds: float


@dataclass
class DemoRun:
    """Where everything went, and how long each step took."""

    out: Path
    settings: DemoSettings
    runs: list[StepRun] = field(default_factory=list)

    @property
    def sample(self) -> Path:
        return self.out / "sample"

    @property
    def bag(self) -> Path:
        return self.sample / "sample_bag"

    @property
    def ground_truth_3d(self) -> Path:
        return self.sample / GROUND_TRUTH_3D_FILE

    @property
    def dataset(self) -> Path:
        return self.out / "dataset"

    @property
    def trained(self) -> Path:
        return self.out / "train" / "sample" / "bundle"

    @property
    def onnx(self) -> Path:
        return self.out / "models" / "sample-onnx"

    @property
    def int8(self) -> Path:
        return self.out / "models" / "sample-tflite-int8"

    def eval_dir(self, name: str) -> Path:
        return self.out / "eval" / name

    @property
    def detect(self) -> Path:
        return self.out / "detect"


def plan(run: DemoRun) -> list[Step]:
    """The steps, in order, as odet command lines."""
    s = run.settings
    dataset = str(run.dataset)
    camera = f"{s.width}x{s.height}"
    segment = s.task == "segment"
    labels = () if segment else ("--boxes-only",)  # a detector learns the boxes alone
    what = "YOLO11n-seg" if segment else "YOLO11n"
    return [
        Step("sample", "Record (simulated robot camera)", (
            "sample", str(run.sample), "--seed", str(s.seed), "--segments", str(s.segments),
            "--frames", str(s.frames_per_segment), "--width", str(s.width),
            "--height", str(s.height),
        )),
        Step("export", "Bag to dataset (sampling, de-duplication, blur filter)", (
            "bag", "export", str(run.bag), "--out", dataset, "--topic", IMAGE_TOPIC,
            "--blur-threshold", str(s.blur_threshold),
            "--duplicate-threshold", str(s.duplicate_threshold),
        )),
        Step("import", "Label import (the sample's ground truth as a COCO export)", (
            "dataset", "import", "--format", "coco", str(run.sample / "labels_coco.json"),
            "--into", dataset, *labels,
        )),
        Step("check", "Dataset check and statistics", ("dataset", "check", dataset)),
        Step("split", "Grouped, stratified split", (
            "dataset", "split", dataset, "--ratios", "0.7", "0.15", "0.15", "--seed", str(s.seed),
        )),
        Step("train", f"Training ({what} from its YAML, CPU)", (
            "train", "--data", dataset, "--model", s.model, "--epochs", str(s.epochs),
            "--imgsz", str(s.imgsz), "--batch", "16", "--device", "cpu", "--optimizer", "AdamW",
            "--lr0", "0.004", "--workers", "0", "--project", str(run.out / "train"),
            "--name", "sample",
        )),
        Step("eval_pt", "Evaluation of the trained .pt (test split)", (
            "eval", str(run.trained), dataset, "--split", "test", "--out", str(run.eval_dir("pt")),
        )),
        Step("export_onnx", "Export to ONNX, input fitted to the camera's frames", (
            "export", str(run.trained), "--format", "onnx", "--data", dataset,
            "--camera", camera, "--out", str(run.onnx),
        )),
        Step("export_int8", "Export to int8 TFLite (calibrated on the train split)", (
            "export", str(run.trained), "--format", "tflite-int8", "--data", dataset,
            "--camera", camera, "--max-drop", f"{MAX_DROP_POINTS:g}", "--out", str(run.int8),
        )),
        Step("eval_exported", "Evaluation of the exported models, side by side", (
            "eval", str(run.onnx), dataset, "--split", "test", "--compare", str(run.int8),
            "--out", str(run.eval_dir("exported")),
        )),
        Step("detect", "2D and 3D detection over the sample bag (int8 TFLite, as on a robot)", (
            "detect", str(run.int8), str(run.bag), "--topic", IMAGE_TOPIC,
            "--depth-topic", DEPTH_TOPIC, "--out", str(run.detect), "--annotated", "images",
        )),
    ]  # fmt: skip


def prepare_output(out: Path) -> None:
    """Start from an empty folder: clear an earlier demo's, refuse anything else."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise DemoError(f"{out}: not empty and not an earlier demo's folder; choose --out")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def run_demo(
    out: Path,
    settings: DemoSettings,
    execute: Callable[[list[str]], int],
    say: Callable[[str], None] = print,
) -> DemoRun:
    """Run every step with ``execute`` (odet's ``main``), stopping at the first failure."""
    out = out.resolve()
    prepare_output(out)
    run = DemoRun(out, settings)
    (out / MARKER).write_text(json.dumps({"settings": settings.__dict__}, indent=1))
    steps = plan(run)
    for number, step in enumerate(steps, 1):
        say(f"[{number}/{len(steps)}] {step.title}\n    $ {step.command}")
        started = time.monotonic()
        code = execute(list(step.argv))
        if code != 0:
            raise DemoError(
                f"step {number} ({step.key}) failed with exit code {code}: {step.command}"
            )
        run.runs.append(StepRun(step, time.monotonic() - started))
    return run
