"""Detection speed, every figure a ratio against a baseline measured in this run.

- ``onnx_overhead_ratio`` / ``tflite_overhead_ratio``: the node's whole per-frame path, a
  ``sensor_msgs/Image`` to a ``Detection2DArray`` (conversion, letterbox, inference, decode, NMS,
  mapping back, message building: :class:`odet_ros.runtime.FrameDetector`), over the bare
  ``session.run`` / ``invoke`` on an already prepared tensor. Target <= 1.10.
- ``onnx_speedup_vs_ultralytics_predict``: Ultralytics' ``YOLO("m.onnx").predict`` time over ours
  (numpy frame to detections, as predict takes them), same frames and thresholds. Target >= 1.25.
- ``pt_ratio_vs_ultralytics_predict``: ours over ``YOLO("m.pt").predict``. Target <= 1.02.
- ``camera_export_speedup_vs_square`` / ``dynamic_onnx_speedup_vs_square``: our path with the
  square 320x320 ONNX over the same with an export fitted to the 640x480 frames (``odet export
  --camera 640x480``: 320x256) and with a dynamic ONNX (run on that rectangle).
- ``paced_cpu_ratio_busy_wait_vs_spin_always`` / ``paced_latency_ratio_busy_wait_vs_spin_always``:
  the ONNX detector fed at 15 Hz like a camera, ORT's workers spinning within runs only (odet's
  ``busy_wait``) over spinning between runs too (ORT's default): CPU time held (cores) and median
  latency per frame; ``paced_latency_ratio_no_busy_wait``: never spinning over ``busy_wait``.
  The same again with ``_one_core_busy``: another process holding one core meanwhile.
- ``startup_ratio_*_vs_pt`` / ``peak_rss_ratio_*_vs_pt``: ``odet detect`` on one image, as a
  fresh process, with the ONNX or TFLite model against the ``.pt``. Target <= 0.3.

A YOLO11n built from its YAML (untrained: speed does not depend on the weights) at imgsz 320,
640x480 frames. Run: ``.venv/bin/python bench/detection.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from odet_ros.bags import make_typestore
from odet_ros.detection import Detector, load_detector
from odet_ros.detection.backends.base import BackendOptions
from odet_ros.detection.backends.onnx import session_options
from odet_ros.detection.letterbox import Letterboxer
from odet_ros.imaging import numpy_to_image
from odet_ros.interfaces import make_header
from odet_ros.messages import VisionMsgClasses
from odet_ros.runtime.frame_detector import FrameDetector
from odet_ros.training.input_size import export_input_size
from odet_ros.ultralytics_env import import_ultralytics

IMGSZ = 320
FRAME_HW = (480, 640)
FRAMES = 5
ROUNDS = 11  # interleaved rounds; each method's figure is its median round
# pause before each timed block: PyTorch's OpenMP threads busy-wait ~200 ms after work and would
# slow whichever method runs next
SETTLE_S = 0.3
STARTUP_MODELS = ("pt", "onnx", "tflite")


def export_models(folder: Path) -> dict[str, Path]:
    yolo = import_ultralytics().YOLO
    model = yolo("yolo11n.yaml")
    pt = folder / "m.pt"
    model.save(str(pt))
    onnx = Path(yolo(str(pt)).export(format="onnx", imgsz=IMGSZ, verbose=False))
    tflite = Path(yolo(str(pt)).export(format="litert", imgsz=IMGSZ, verbose=False))
    models = {"pt": pt, "onnx": onnx, "tflite": tflite}
    camera_hw = export_input_size(IMGSZ, (FRAME_HW[1], FRAME_HW[0]), stride=32)
    for name, arguments in (
        ("onnx_camera", {"imgsz": list(camera_hw)}),
        ("onnx_dynamic", {"imgsz": IMGSZ, "dynamic": True}),
    ):
        source = folder / f"{name}.pt"  # each export writes beside its .pt, named after it
        shutil.copy(pt, source)
        models[name] = Path(yolo(str(source)).export(format="onnx", verbose=False, **arguments))
    return models


def as_image_messages(frames: list[np.ndarray]) -> dict[int, object]:
    """A rosbags sensor_msgs/Image (bgr8, as camera drivers publish) per frame, by frame id."""
    typestore = make_typestore()
    image_type = typestore.types["sensor_msgs/msg/Image"]
    return {
        id(frame): numpy_to_image(frame, "bgr8", make_header(typestore, n, "camera"), image_type)
        for n, frame in enumerate(frames)
    }


def node_path(detector: Detector, frames: list[np.ndarray]) -> Callable[[np.ndarray], object]:
    """The detector node's per-frame work for each frame's Image message."""
    typestore = make_typestore()
    frame_detector = FrameDetector(
        detector,
        VisionMsgClasses.from_typestore(typestore),
        typestore.types["sensor_msgs/msg/Image"],
    )
    messages = as_image_messages(frames)
    return lambda frame: frame_detector.process(messages[id(frame)]).message


def make_frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    h, w = FRAME_HW
    coarse = rng.integers(0, 256, (FRAMES, h // 16, w // 16, 3), dtype=np.uint8)
    return [cv2.resize(c, (w, h), interpolation=cv2.INTER_CUBIC) for c in coarse]


def seconds_per_frame(
    methods: dict[str, Callable[[np.ndarray], object]], frames: list[np.ndarray]
) -> dict[str, float]:
    """Median over interleaved rounds (so load from other processes hits every method alike)."""
    for method in methods.values():
        method(frames[0])  # warm-up
    rounds: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(ROUNDS):
        for name, method in methods.items():
            time.sleep(SETTLE_S)
            start = time.perf_counter()
            for frame in frames:
                method(frame)
            rounds[name].append((time.perf_counter() - start) / len(frames))
    return {name: statistics.median(times) for name, times in rounds.items()}


def onnx_figures(models: dict[str, Path], frames: list[np.ndarray]) -> dict[str, float]:
    import onnxruntime as ort

    from odet_ros.detection.backends.base import BackendOptions
    from odet_ros.detection.backends.onnx import session_options

    ours = load_detector(models["onnx"])
    tensor = Letterboxer((IMGSZ, IMGSZ))(frames[0])[0]  # a prepared input for the bare run
    options = session_options(BackendOptions())  # the same session settings as ours
    session = ort.InferenceSession(str(models["onnx"]), options, providers=["CPUExecutionProvider"])
    ultralytics = import_ultralytics().YOLO(str(models["onnx"]), task="detect")
    times = seconds_per_frame(
        {
            "ours": ours.detect,
            "node_path": node_path(ours, frames),
            "bare": lambda _: session.run(None, {"images": tensor}),
            "ultralytics": lambda f: ultralytics.predict(f, conf=0.25, iou=0.7, verbose=False),
        },
        frames,
    )
    return {
        "onnx_ms_ours": times["ours"] * 1e3,
        "onnx_ms_node_path": times["node_path"] * 1e3,
        "onnx_ms_bare_session_run": times["bare"] * 1e3,
        "onnx_ms_ultralytics_predict": times["ultralytics"] * 1e3,
        "onnx_overhead_ratio": times["node_path"] / times["bare"],
        "onnx_speedup_vs_ultralytics_predict": times["ultralytics"] / times["ours"],
    }


def tflite_figures(models: dict[str, Path], frames: list[np.ndarray]) -> dict[str, float]:
    from odet_ros.detection.backends.litert import interpreter_class

    ours = load_detector(models["tflite"])
    tensor = Letterboxer((IMGSZ, IMGSZ))(frames[0])[0]
    interpreter = interpreter_class()(model_path=str(models["tflite"]))
    interpreter.allocate_tensors()
    index = interpreter.get_input_details()[0]["index"]
    output = interpreter.get_output_details()[0]["index"]

    def bare(_: np.ndarray) -> np.ndarray:  # like session.run: input in, output out
        interpreter.set_tensor(index, tensor)
        interpreter.invoke()
        return interpreter.get_tensor(output)

    times = seconds_per_frame({"node_path": node_path(ours, frames), "bare": bare}, frames)
    return {
        "tflite_ms_node_path": times["node_path"] * 1e3,
        "tflite_ms_bare_invoke": times["bare"] * 1e3,
        "tflite_overhead_ratio": times["node_path"] / times["bare"],
    }


def pt_figures(models: dict[str, Path], frames: list[np.ndarray]) -> dict[str, float]:
    ours = load_detector(models["pt"], imgsz=IMGSZ)
    ultralytics = import_ultralytics().YOLO(str(models["pt"]), task="detect")
    times = seconds_per_frame(
        {
            "ours": ours.detect,
            "ultralytics": lambda f: ultralytics.predict(
                f, imgsz=IMGSZ, conf=0.25, iou=0.7, verbose=False
            ),
        },
        frames,
    )
    return {
        "pt_ms_ours": times["ours"] * 1e3,
        "pt_ms_ultralytics_predict": times["ultralytics"] * 1e3,
        "pt_ratio_vs_ultralytics_predict": times["ours"] / times["ultralytics"],
    }


def rectangle_figures(models: dict[str, Path], frames: list[np.ndarray]) -> dict[str, float]:
    square = load_detector(models["onnx"])
    camera = load_detector(models["onnx_camera"])
    dynamic = load_detector(models["onnx_dynamic"])
    times = seconds_per_frame(
        {"square": square.detect, "camera": camera.detect, "dynamic": dynamic.detect}, frames
    )
    return {
        "onnx_ms_camera_export": times["camera"] * 1e3,
        "onnx_ms_dynamic": times["dynamic"] * 1e3,
        "camera_export_speedup_vs_square": times["square"] / times["camera"],
        "dynamic_onnx_speedup_vs_square": times["square"] / times["dynamic"],
    }


def paced_run(
    detector: Detector, frames: list[np.ndarray], hz: float, seconds: float
) -> tuple[float, float]:
    """(cores of CPU time held, median seconds per frame) with frames arriving at ``hz``."""
    period = 1.0 / hz
    for frame in frames:
        detector.detect(frame)
    latencies = []
    start_cpu, start = time.process_time(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        began = time.perf_counter()
        detector.detect(frames[len(latencies) % len(frames)])
        latencies.append(time.perf_counter() - began)
        time.sleep(max(0.0, period - (time.perf_counter() - began)))
    cores = (time.process_time() - start_cpu) / (time.perf_counter() - start)
    return cores, statistics.median(latencies)


def busy_wait_figures(models: dict[str, Path], frames: list[np.ndarray]) -> dict[str, float]:
    """The detector at 15 Hz with ONNX Runtime's workers spinning between runs too (ORT's
    default, odet's before), spinning within runs only (``busy_wait``, odet's default now) and
    never spinning (``busy_wait: false``); then the same with one core taken by another process
    (a robot's other nodes), where spinning workers and that process compete."""
    figures = paced_figures(models, frames, "")
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        figures |= paced_figures(models, frames, "_one_core_busy")
    finally:
        burner.kill()
        burner.wait()
    return figures


def paced_figures(
    models: dict[str, Path], frames: list[np.ndarray], suffix: str
) -> dict[str, float]:
    always = load_detector(models["onnx"])
    settings = session_options(BackendOptions())
    settings.add_session_config_entry("session.force_spinning_stop", "0")  # ORT's default
    always._backend._session = ort.InferenceSession(  # the same model, ORT's own spinning
        str(models["onnx"]), settings, providers=["CPUExecutionProvider"]
    )
    detectors = {
        "spin_always": always,
        "busy_wait": load_detector(models["onnx"], busy_wait=True),
        "no_busy_wait": load_detector(models["onnx"], busy_wait=False),
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in detectors}
    for _ in range(2):  # alternated, so load from other processes hits all alike
        for name, detector in detectors.items():
            runs[name].append(paced_run(detector, frames, hz=15.0, seconds=3.0))
    cores = {name: statistics.mean(c for c, _ in r) for name, r in runs.items()}
    latency = {name: statistics.mean(t for _, t in r) for name, r in runs.items()}
    figures = {
        "paced_cpu_cores_spin_always": cores["spin_always"],
        "paced_cpu_cores_busy_wait": cores["busy_wait"],
        "paced_cpu_cores_no_busy_wait": cores["no_busy_wait"],
        "paced_ms_busy_wait": latency["busy_wait"] * 1000,
        "paced_cpu_ratio_busy_wait_vs_spin_always": cores["busy_wait"] / cores["spin_always"],
        "paced_latency_ratio_busy_wait_vs_spin_always": (
            latency["busy_wait"] / latency["spin_always"]
        ),
        "paced_latency_ratio_no_busy_wait": latency["no_busy_wait"] / latency["busy_wait"],
    }
    return {f"{name}{suffix}": value for name, value in figures.items()}


# Runs in a fresh, small interpreter: a child's peak RSS counts its parent's size at fork, so
# measuring from this (large) process would report torch's footprint for every model.
MEASURE = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(child.pid, 0)
elapsed = time.perf_counter() - start
if os.waitstatus_to_exitcode(status):
    sys.exit(child.stderr.read().decode())
print(elapsed, usage.ru_maxrss / 1024)
"""


def odet_detect_run(model: Path, image: Path, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB, Linux) of one `odet detect` process on one image."""
    command = [sys.executable, "-m", "odet_ros.cli.main", "detect", str(model), str(image)]
    command += ["--out", str(out), "--imgsz", str(IMGSZ)]
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True
    )
    seconds, rss = result.stdout.split()
    return float(seconds), float(rss)


def startup_figures(models: dict[str, Path], frame: np.ndarray, folder: Path) -> dict[str, float]:
    image = folder / "frame.png"
    cv2.imwrite(str(image), frame)
    runs = {
        name: [odet_detect_run(models[name], image, folder / f"out_{name}") for _ in range(2)]
        for name in STARTUP_MODELS
    }
    seconds = {name: min(t for t, _ in r) for name, r in runs.items()}
    memory = {name: min(m for _, m in r) for name, r in runs.items()}
    figures = {f"startup_s_{n}": seconds[n] for n in STARTUP_MODELS} | {
        f"peak_rss_mib_{n}": memory[n] for n in STARTUP_MODELS
    }
    for name in ("onnx", "tflite"):
        figures[f"startup_ratio_{name}_vs_pt"] = seconds[name] / seconds["pt"]
        figures[f"peak_rss_ratio_{name}_vs_pt"] = memory[name] / memory["pt"]
    return figures


def main() -> None:
    frames = make_frames()
    with tempfile.TemporaryDirectory(prefix="odet-bench-") as tmp:
        folder = Path(tmp)
        models = export_models(folder)
        figures = onnx_figures(models, frames)
        figures |= tflite_figures(models, frames)
        figures |= pt_figures(models, frames)
        figures |= rectangle_figures(models, frames)
        figures |= busy_wait_figures(models, frames)
        figures |= startup_figures(models, frames[0], folder)
    for name, value in figures.items():
        print(f"{name}: {value:.3f}")


if __name__ == "__main__":
    main()
