"""Several cameras through one model: one batch, frames back to back, or concurrent runs?

For N = 2 and 4 camera frames (640x480, letterboxed to YOLO11n ONNX 320, untrained: speed does not
depend on the weights), each way of running them through ONNX Runtime on the CPU, timed per round
of N frames, the median of ``ROUNDS`` interleaved rounds:

- ``back_to_back``: N ``session.run`` calls on one frame each (the baseline: the node's schedule
  when the model takes no batch);
- ``batch``: one ``session.run`` on an N-frame tensor (an export with a dynamic batch axis, as
  ``odet export --dynamic`` makes it; the same session serves every N; ``--batch N`` fixes N);
- ``concurrent``: the node's schedule for such a model: ``min(N, cores)`` threads, each running
  frames one after the other (here each its share of them) through one shared session opened
  for that many concurrent runs (``BackendOptions.concurrent_runs``: the cores shared out, one
  thread each on 2 cores): ONNX Runtime's maintainers' advice for CPUs, as a session does not
  split a small model's run across cores well.

Every session is opened as the node opens it (``session_options``), with ``busy_wait`` false (the
node's default) and, for the figures ending ``_busy_wait``, true. Figures:
``cams<N>_batch_vs_back_to_back`` and ``cams<N>_concurrent_vs_back_to_back`` (time per round, < 1
is faster), and ``cams<N>_back_to_back_ms`` (the baseline's milliseconds per round).

The other CPU backends, the same model opened through odet's own backend classes:

- ``pt_cams<N>_batch_vs_back_to_back``: the ``.pt`` checkpoint (Ultralytics' ``AutoBackend``,
  any batch) on one N-frame tensor against N runs of one frame.
- ``litert_cams<N>_concurrent_vs_back_to_back``: Ultralytics' LiteRT export, two single-thread
  interpreters running their share of the frames at once against one interpreter with a thread
  per core running them back to back. ``litert_batch_output_frames``: the frames in the output
  after the input is resized to N frames (1: the export fixes its batch, so LiteRT cannot batch).

Run with ``.venv/bin/python bench/batching.py`` (about two minutes on 2 cores; it exports its
models with Ultralytics into ``.cache/bench-batching/`` the first time).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from odet_ros.detection.backends import open_backend
from odet_ros.detection.backends.base import BackendOptions, InferenceBackend
from odet_ros.detection.backends.onnx import session_options
from odet_ros.detection.letterbox import Letterboxer

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench-batching"
IMGSZ = 320
FRAME_HW = (480, 640)
CAMERAS = (2, 4)
ROUNDS = 15
WARMUP = 3
SETTLE_S = 0.2  # between blocks: ORT's spinning workers go quiet


def exported() -> dict[str, Path]:
    """One untrained YOLO11n as a checkpoint, an ONNX at 320 with a dynamic batch axis and a
    LiteRT export at 320 (cached; each made in a scratch folder and renamed into place)."""
    models = {
        "pt": CACHE / "yolo11n.pt",
        "onnx": CACHE / "yolo11n_320_dynamic_batch.onnx",
        "litert": CACHE / "yolo11n_320.tflite",
    }
    if all(path.exists() for path in models.values()):
        return models
    from odet_ros.ultralytics_env import import_ultralytics

    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        yolo = import_ultralytics().YOLO
        checkpoint = f"{scratch}/m.pt"
        yolo("yolo11n.yaml").save(checkpoint)
        onnx = yolo(checkpoint).export(
            format="onnx", imgsz=IMGSZ, dynamic=True, batch=max(CAMERAS), verbose=False
        )
        litert = yolo(checkpoint).export(format="litert", imgsz=IMGSZ, verbose=False)
        Path(onnx).rename(models["onnx"])
        Path(litert).rename(models["litert"])
        Path(checkpoint).rename(models["pt"])
    return models


def frames(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    h, w = FRAME_HW
    coarse = rng.integers(0, 256, (count, h // 16, w // 16, 3), dtype=np.uint8)
    return [cv2.resize(c, (w, h), interpolation=cv2.INTER_CUBIC) for c in coarse]


def session(model: Path, options: BackendOptions) -> ort.InferenceSession:
    return ort.InferenceSession(
        str(model), session_options(options), providers=["CPUExecutionProvider"]
    )


def timed(run: Callable[[], object]) -> float:
    for _ in range(WARMUP):
        run()
    time.sleep(SETTLE_S)
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def in_threads(parts: list[Callable[[], object]]) -> None:
    threads = [threading.Thread(target=part) for part in parts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def compare(model: Path, count: int, busy_wait: bool) -> dict[str, float]:
    """The three ways for ``count`` cameras, sessions opened with ``busy_wait``."""
    runners = min(count, os.cpu_count() or 1)
    shared = session(model, BackendOptions(busy_wait=busy_wait))
    narrow = session(model, BackendOptions(busy_wait=busy_wait, concurrent_runs=runners))
    tensors = [Letterboxer((IMGSZ, IMGSZ))(f)[0].copy() for f in frames(count)]
    batch = np.concatenate(tensors)

    def back_to_back() -> None:
        for tensor in tensors:
            shared.run(None, {"images": tensor})

    def batched() -> None:
        shared.run(None, {"images": batch})

    def share(part: list[np.ndarray]) -> Callable[[], None]:
        def run() -> None:
            for tensor in part:
                narrow.run(None, {"images": tensor})

        return run

    def concurrent() -> None:
        in_threads([share(tensors[i::runners]) for i in range(runners)])

    ways = {"back_to_back": back_to_back, "batch": batched, "concurrent": concurrent}
    median = medians(ways)
    suffix = "_busy_wait" if busy_wait else ""
    figures = {f"cams{count}_back_to_back_ms{suffix}": median["back_to_back"] * 1e3}
    for name in ("batch", "concurrent"):
        figures[f"cams{count}_{name}_vs_back_to_back{suffix}"] = (
            median[name] / median["back_to_back"]
        )
    return figures


def medians(ways: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Seconds per round of each way, the median of ``ROUNDS`` interleaved rounds."""
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, run in ways.items():
            seconds[name].append(timed(run))
    return {name: statistics.median(values) for name, values in seconds.items()}


def compare_pytorch(model: Path, count: int) -> dict[str, float]:
    """The checkpoint on ``count`` frames: one batch against one run each."""
    backend = open_backend("ultralytics", model, BackendOptions())
    tensors = [Letterboxer((IMGSZ, IMGSZ))(f)[0].copy() for f in frames(count)]
    batch = np.concatenate(tensors)
    ways = {
        "back_to_back": lambda: [backend.run(tensor) for tensor in tensors],
        "batch": lambda: backend.run(batch),
    }
    median = medians(ways)
    return {f"pt_cams{count}_batch_vs_back_to_back": median["batch"] / median["back_to_back"]}


def compare_litert(model: Path, count: int) -> dict[str, float]:
    """The LiteRT export on ``count`` frames: two single-thread interpreters at once against
    one interpreter with a thread per core, back to back."""
    cores = os.cpu_count() or 1
    shared = open_backend("litert", model, BackendOptions(num_threads=cores))
    narrow = [open_backend("litert", model, BackendOptions(num_threads=1)) for _ in range(2)]
    tensors = [Letterboxer((IMGSZ, IMGSZ))(f)[0].copy() for f in frames(count)]

    def share(backend: InferenceBackend, part: list[np.ndarray]) -> Callable[[], None]:
        def run() -> None:
            for tensor in part:
                backend.run(tensor)

        return run

    ways = {
        "back_to_back": share(shared, tensors),
        "concurrent": lambda: in_threads([share(b, tensors[i::2]) for i, b in enumerate(narrow)]),
    }
    median = medians(ways)
    ratio = median["concurrent"] / median["back_to_back"]
    return {f"litert_cams{count}_concurrent_vs_back_to_back": ratio}


def litert_batch_output_frames(model: Path, count: int) -> int:
    """Frames in the output of the LiteRT export once its input is resized to ``count``."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model))
    details = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(details["index"], [count, *details["shape"][1:]])
    interpreter.allocate_tensors()
    return int(interpreter.get_output_details()[0]["shape"][0])


def main() -> None:
    models = exported()
    figures: dict[str, float] = {}
    for busy_wait in (False, True):
        for count in CAMERAS:
            figures.update(compare(models["onnx"], count, busy_wait))
    for count in CAMERAS:
        figures.update(compare_pytorch(models["pt"], count))
        figures.update(compare_litert(models["litert"], count))
    figures["litert_batch_output_frames"] = litert_batch_output_frames(
        models["litert"], max(CAMERAS)
    )
    for name, value in figures.items():
        if name.endswith("_frames"):
            print(f"{name}: {value:.0f}")
        else:
            print(f"{name}: {value:.1f}" if "_ms" in name else f"{name}: {value:.2f}")


if __name__ == "__main__":
    main()
