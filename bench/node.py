"""The detector node over real DDS: camera-rate frames in, detections out, beside the bare model.

For a YOLO11n ONNX at input 320 and at 640, a fresh ``detector_node`` process per case is fed
640x480 bgr8 ``sensor_msgs/Image`` frames at 15 Hz and at 30 Hz, for 8 s after a warm-up, by a
reliable publisher (depth 10, as camera drivers publish) in this process; a reliable subscriber
here takes its ``Detection2DArray``. Figures, per case ``onnx<size>_<rate>hz_``:

- ``answered``: detections received / frames published. The node infers the newest frame and
  drops the rest, so a model slower than the camera answers only a fraction.
- ``latency_p50_ms`` / ``latency_p99_ms``: image header stamp (this process's clock when it
  published) to the detections' arrival here, over the answered frames.
- ``latency_p50_vs_bare``: that p50 over the bare model's, ONNX Runtime's ``session.run`` alone
  on an already prepared tensor with the node's session settings (``busy_wait`` false, its
  default), timed in this process just before and just after the case, while no node runs: what
  DDS, conversion, pre- and post-processing and waiting for the newest frame add.
  ``latency_p50_vs_bare_busy_wait``: the same over a spinning session's run (``busy_wait``
  true), the fastest the model runs on idle cores. ``onnx<size>_bare_p50_ms[_busy_wait]``: the
  bare p50 over all its runs.
- ``node_cpu_cores``: CPU time of the node's process tree over wall time, while publishing.
- ``node_peak_rss_mb``: the node process's VmHWM (peak resident memory, start-up included), MiB.
- ``cpu_ms_per_answer``: the node's CPU time per answered frame.
- ``udp_drops``: UDP datagrams the kernel dropped for want of socket receive buffer meanwhile
  (``/proc/net/snmp``, any process): a lost fragment loses the whole frame for a best-effort
  subscriber. The bench runs Cyclone DDS with a 4 MiB receive buffer unless ``CYCLONEDDS_URI``
  is set (with Cyclone's default, a node serving two cameras lost the second one's frames).

Several cameras (``cams<N>_<rate>hz_``, YOLO11n ONNX 320, N = 2 and 4 cameras of 640x480 at 15
and 30 Hz each): the same frames through one node serving every camera (``image_topics``, one
model) and through N nodes, one per camera, as robots ran them before. Per layout
(``one_node_``, ``per_camera_``): ``answered_hz`` (detections received per second, all
cameras), ``latency_p50_ms`` (the median over the cameras of each camera's p50),
``latency_p99_ms`` (the worst camera's), ``cpu_cores``, ``cpu_ms_per_answer`` and
``peak_rss_mb`` (all detector processes together); and the ratios one node / N nodes:
``answered_ratio``, ``p50_ratio``, ``cpu_ratio``, ``rss_ratio``. ``onnx320_one_thread_cpu_ms``:
the CPU time of one single-thread ``session.run`` of that model, paced at 30 Hz in this process
with no node running: the floor per answered frame of any layout that runs frames one per core.

A YOLO11n built from its YAML (untrained: speed does not depend on the weights), exported once by
the workstation venv (Ultralytics) into ``.cache/bench-node/``. Run with ROS 2 sourced (on the
development machine ``source /opt/odet-ros2-humble/activate.sh``), in the ROS venv:
``.venv-ros-humble/bin/python bench/node.py`` (about 5 minutes on 2 cores, 10 s more the first
time for the exports; ``bench/node.py single`` runs only the one-camera cases, ``bench/node.py
cameras`` only the several-camera ones). Progress, with the node's own log lines, goes to stderr.
"""

from __future__ import annotations

import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import psutil
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from odet_ros.detection.backends.base import BackendOptions
from odet_ros.detection.backends.onnx import session_options
from odet_ros.detection.letterbox import Letterboxer
from odet_ros.imaging import numpy_to_image
from odet_ros.interfaces import stamp_to_ns
from odet_ros.runtime.udp_drops import read_snmp, receive_buffer_errors

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench-node"
WORKSTATION_PYTHON = ROOT / ".venv" / "bin" / "python"  # has Ultralytics; this venv has not
SIZES = (320, 640)
RATES_HZ = (15, 30)
FRAME_HW = (480, 640)
FRAMES = 5
IMAGE_TOPIC = "/bench/image_raw"  # the single-camera cases; detections beside it
CAMERA_COUNTS = (2, 4)
CAMERAS_SIZE = 320  # the model of the several-camera cases
CAMERA_FIGURES = (
    "answered_hz",
    "latency_p50_ms",
    "latency_p99_ms",
    "cpu_cores",
    "cpu_ms_per_answer",
    "peak_rss_mb",
    "udp_drops",
)
RATIOS = {  # one node / one node per camera
    "answered_ratio": "answered_hz",
    "p50_ratio": "latency_p50_ms",
    "cpu_ratio": "cpu_cores",
    "rss_ratio": "peak_rss_mb",
}
RELIABLE = QoSProfile(
    depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE
)
MEASURE_S = 8.0
WARMUP_S = 2.0  # publishing at the case's rate after the first answer, before measuring
DRAIN_S = 1.0  # after the last frame: answers still in flight arrive
READY_TIMEOUT_S = 60.0  # node start-up: imports, model load, discovery
FIRST_ANSWER_TIMEOUT_S = 30.0
SETTLE_S = 1.0  # after discovery, so that the matching completes on both sides
STOP_TIMEOUT_S = 10.0
BARE_WARMUP = 3
BARE_RUNS = 10  # per block: one block before the first case and one after each case
BARE_BLOCK_S = 1.5
# A socket receive buffer that holds a burst of camera frames (4 MiB, or what rmem_max allows):
# Cyclone's default lost every frame of the second camera of a node here (UdpRcvbufErrors).
# An explicit CYCLONEDDS_URI is kept as it is.
RECEIVE_BUFFER_B = 4 * 1024 * 1024

# Runs in the workstation venv: one folder per input size (each export is named after its .pt),
# built in a scratch folder and renamed, so an interrupted export leaves nothing half-written.
EXPORT = """
import sys, tempfile
from pathlib import Path
from odet_ros.ultralytics_env import import_ultralytics
yolo = import_ultralytics().YOLO
target, size = Path(sys.argv[1]), int(sys.argv[2])
target.parent.mkdir(parents=True, exist_ok=True)
scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
scratch.chmod(0o755)
yolo("yolo11n.yaml").save(str(scratch / "m.pt"))
yolo(str(scratch / "m.pt")).export(format="onnx", imgsz=size, verbose=False)
scratch.rename(target)
"""

# The floor under any Python node on this DDS: a node in its own process that answers each frame
# at once with an empty Detection2DArray stamped with the frame's header, subscribed as the
# detector subscribes (best effort, depth 1). argv: image topic, detections topic, 1 to take the
# frames serialized and read them as the detector does (odet_ros.imaging.cdr), 0 for rclpy's
# messages (as the detector took them before).
RELAY = """
import sys
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray
from odet_ros.nodes.camera_subscription import frame_decoder

image, detections, serialized = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
rclpy.init()
node = Node("relay")
answers = node.create_publisher(Detection2DArray, detections, 10)
decode = frame_decoder(compressed=False) if serialized else lambda msg: msg
def answer(received):
    answers.publish(Detection2DArray(header=decode(received).header))
qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
node.create_subscription(Image, image, answer, qos, raw=serialized)
try:
    rclpy.spin(node)
except (KeyboardInterrupt, ExternalShutdownException):
    pass
"""
RELAY_HZ = 15


def progress(text: str) -> None:
    print(f"[bench/node.py {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def exported_models() -> dict[int, Path]:
    """The ONNX file per input size, exported by the workstation venv unless cached."""
    models = {}
    for size in SIZES:
        folder = CACHE / f"yolo11n_{size}"
        if not (folder / "m.onnx").exists():
            progress(f"exporting YOLO11n at {size} with {WORKSTATION_PYTHON} into {folder}")
            # ROS's PYTHONPATH would put its packages before the workstation venv's own
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            subprocess.run(
                [str(WORKSTATION_PYTHON), "-c", EXPORT, str(folder), str(size)],
                check=True,
                env=env,
                stdout=sys.stderr,
                cwd=tempfile.gettempdir(),  # Ultralytics may write beside the working directory
            )
        models[size] = folder / "m.onnx"
    return models


def make_frames() -> list[np.ndarray]:
    """Smooth random 640x480 frames, as bench/detection.py uses."""
    rng = np.random.default_rng(0)
    h, w = FRAME_HW
    coarse = rng.integers(0, 256, (FRAMES, h // 16, w // 16, 3), dtype=np.uint8)
    return [cv2.resize(c, (w, h), interpolation=cv2.INTER_CUBIC) for c in coarse]


class BareModel:
    """``session.run`` on a prepared tensor, with the node's session settings (``busy_wait``
    false, its default) or spinning (``busy_wait`` true: the fastest run on idle cores)."""

    def __init__(self, model: Path, size: int, frame: np.ndarray, busy_wait: bool) -> None:
        self._tensor = Letterboxer((size, size))(frame)[0]
        options = session_options(BackendOptions(busy_wait=busy_wait))
        self._session = ort.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        for _ in range(BARE_WARMUP):
            self._run()

    def _run(self) -> None:
        self._session.run(None, {"images": self._tensor})

    def measure(self) -> list[float]:
        """One block of runs (at least ``BARE_RUNS`` and ``BARE_BLOCK_S``): seconds per run."""
        start = time.perf_counter()
        seconds: list[float] = []
        while len(seconds) < BARE_RUNS or time.perf_counter() - start < BARE_BLOCK_S:
            began = time.perf_counter()
            self._run()
            seconds.append(time.perf_counter() - began)
        time.sleep(SETTLE_S)  # ORT's spinning workers go quiet before a node is started
        return seconds


class BenchNode(Node):
    """Publishes camera frames stamped with the clock now, on any number of camera topics;
    records when each answer arrives on the camera's ``detections`` beside its images."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        super().__init__("odet_bench")
        self._images = [
            numpy_to_image(frame, "bgr8", Header(frame_id="camera_optical_frame"), Image)
            for frame in frames
        ]
        self._cameras: dict[str, Publisher] = {}
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, int], int] = {}  # (camera, stamp ns) -> arrival ns
        self._boxes: dict[tuple[str, int], int] = {}  # (camera, stamp ns) -> detections

    def add_cameras(self, topics: list[str]) -> None:
        """A reliable publisher per camera (depth 10, as drivers publish) and a subscription to
        its detections."""
        for topic in topics:
            if topic not in self._cameras:
                self._cameras[topic] = self.create_publisher(Image, topic, RELIABLE)
                answer = functools.partial(self._on_answer, topic)
                self.create_subscription(Detection2DArray, detections_of(topic), answer, RELIABLE)

    def connected(self, topics: list[str]) -> bool:
        """Every camera has a subscriber, and a publisher of its detections."""
        heard = all(self._cameras[t].get_subscription_count() >= 1 for t in topics)
        return heard and all(self.count_publishers(detections_of(t)) >= 1 for t in topics)

    def publish_frame(self, topic: str, n: int) -> int:
        """Publish frame ``n`` (cycling) on camera ``topic``, stamped now; its stamp in ns."""
        msg = self._images[n % len(self._images)]
        now = self.get_clock().now()
        msg.header.stamp = now.to_msg()
        self._cameras[topic].publish(msg)
        return now.nanoseconds

    def _on_answer(self, camera: str, msg: Detection2DArray) -> None:
        arrived = self.get_clock().now().nanoseconds
        key = (camera, stamp_to_ns(msg.header.stamp))
        with self._lock:
            self._answers.setdefault(key, arrived)
            self._boxes.setdefault(key, len(msg.detections))

    def answers(self, camera: str) -> dict[int, int]:
        with self._lock:
            return {stamp: t for (c, stamp), t in self._answers.items() if c == camera}

    def boxes(self, camera: str, stamps: list[int]) -> float:
        """Mean detections per answer to ``stamps``."""
        with self._lock:
            counts = [self._boxes[(camera, s)] for s in stamps if (camera, s) in self._boxes]
        return statistics.mean(counts) if counts else 0.0


def detections_of(camera: str) -> str:
    """A camera's detections topic: beside its images, as the node puts them."""
    return camera.rsplit("/", 1)[0] + "/detections"


def publish_paced(
    bench: BenchNode, cameras: list[str], hz: float, seconds: float
) -> dict[str, list[int]]:
    """Publish a frame on every camera at ``hz`` for ``seconds`` on a fixed schedule (a late
    slot is skipped, never caught up with a burst, as a camera would); the stamps published."""
    period = 1.0 / hz
    start = time.perf_counter()
    stamps: dict[str, list[int]] = {camera: [] for camera in cameras}
    slot = 0
    while slot * period < seconds:
        time.sleep(max(0.0, start + slot * period - time.perf_counter()))
        for camera in cameras:
            stamps[camera].append(bench.publish_frame(camera, len(stamps[camera])))
        slot = max(slot + 1, int((time.perf_counter() - start) / period) + 1)
    return stamps


def detector_command(model: Path, cameras: list[str]) -> list[str]:
    """A detector node: on one camera through the ``image`` remapping, or on several through
    ``image_topics``."""
    command = [sys.executable, "-m", "odet_ros.nodes.detector_node", "--ros-args"]
    command += ["-p", f"model:={model}"]
    if len(cameras) == 1:
        command += ["-r", f"image:={cameras[0]}", "-r", f"detections:={detections_of(cameras[0])}"]
    else:
        command += ["-p", f"image_topics:={cameras}".replace(" ", "")]
    return command


def relay_command(serialized: bool, cameras: list[str]) -> list[str]:
    """The relay (:data:`RELAY`) on one camera."""
    (camera,) = cameras
    return [sys.executable, "-c", RELAY, camera, detections_of(camera), str(int(serialized))]


def start_node(command: list[str], log: Path) -> subprocess.Popen:
    """A node process, its output into ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGINT reaches it and its children
        )


def stop_node(node: subprocess.Popen) -> None:
    """SIGINT to the node's process group, SIGKILL if it has not ended in time."""
    if node.poll() is not None:
        return
    os.killpg(node.pid, signal.SIGINT)
    try:
        node.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        progress(f"node {node.pid} ignored SIGINT for {STOP_TIMEOUT_S:.0f} s: killing it")
        os.killpg(node.pid, signal.SIGKILL)
        node.wait()


def node_failed(node: subprocess.Popen, log: Path, what: str) -> RuntimeError:
    tail = log.read_text(errors="replace")[-3000:]
    return RuntimeError(f"{what} (node exit code {node.poll()}); its log ends:\n{tail}")


Command = Callable[[list[str]], list[str]]  # a process's cameras -> its command line


class Nodes:
    """The node processes of one case (one per group of cameras) and their logs."""

    def __init__(self, command: Command, logs: Path, groups: list[list[str]], name: str) -> None:
        self.logs = [logs / f"{name}_{i}.log" for i in range(len(groups))]
        self.processes = [
            start_node(command(group), log) for log, group in zip(self.logs, groups, strict=True)
        ]

    def check(self, what: str) -> None:
        for node, log in zip(self.processes, self.logs, strict=True):
            if node.poll() is not None:
                raise node_failed(node, log, what)

    def failed(self, what: str) -> RuntimeError:
        return node_failed(self.processes[0], self.logs[0], what)

    def cpu_seconds(self) -> float:
        return sum(tree_cpu_seconds(psutil.Process(n.pid)) for n in self.processes)

    def peak_rss_mib(self) -> float:
        return sum(peak_rss_mib(n.pid) for n in self.processes)

    def stop(self) -> None:
        for node in self.processes:
            stop_node(node)

    def log_lines(self) -> list[str]:
        return [
            line.strip()
            for log in self.logs
            for line in log.read_text(errors="replace").splitlines()
            if " Hz, latency " in line or "frames of " in line
        ]


def wait_until_connected(bench: BenchNode, nodes: Nodes, cameras: list[str]) -> None:
    """Until every camera's subscription and detections publisher are discovered."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not bench.connected(cameras):
        nodes.check("a node ended before it subscribed")
        if time.monotonic() > deadline:
            raise nodes.failed(f"no node on the topics after {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.1)
    time.sleep(SETTLE_S)


def warm_up(bench: BenchNode, nodes: Nodes, cameras: list[str], hz: float) -> None:
    """Publish at ``hz`` until every camera has an answer, then ``WARMUP_S`` more."""
    deadline = time.monotonic() + FIRST_ANSWER_TIMEOUT_S
    while not all(bench.answers(camera) for camera in cameras):
        nodes.check("a node ended while warming up")
        if time.monotonic() > deadline:
            raise nodes.failed("no detections came back")
        publish_paced(bench, cameras, hz, 0.5)
    publish_paced(bench, cameras, hz, WARMUP_S)


def tree_cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU time of a process and its descendants (and its waited-for children)."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
        if member is process:
            total += times.children_user + times.children_system
    return total


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (not idle or waiting on I/O)."""
    times = psutil.cpu_times()  # on Linux, user already holds guest time
    busy = ("user", "nice", "system", "irq", "softirq", "steal")
    return sum(getattr(times, name, 0.0) for name in busy)


def peak_rss_mib(pid: int) -> float:
    """VmHWM of a live process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def latencies_ms(stamps: list[int], answers: dict[int, int]) -> list[float]:
    """The latencies of the ``stamps`` answered, in ms."""
    return [(answers[s] - s) / 1e6 for s in stamps if s in answers]


def run_case(
    bench: BenchNode, command: Command, hz: float, logs: Path, name: str, groups: list[list[str]]
) -> dict[str, float]:
    """``groups``: the cameras of each node process (one group: one node serves them all)."""
    cameras = [camera for group in groups for camera in group]
    bench.add_cameras(cameras)
    nodes = Nodes(command, logs, groups, name)
    try:
        wait_until_connected(bench, nodes, cameras)
        warm_up(bench, nodes, cameras, hz)
        cpu_before, wall_before = nodes.cpu_seconds(), time.perf_counter()
        own_before, machine_before = time.process_time(), busy_cpu_seconds()
        drops_before = udp_receive_buffer_errors()
        stamps = publish_paced(bench, cameras, hz, MEASURE_S)
        drops = udp_receive_buffer_errors() - drops_before
        cpu = nodes.cpu_seconds() - cpu_before
        wall = time.perf_counter() - wall_before
        own = (time.process_time() - own_before) / wall
        others = (busy_cpu_seconds() - machine_before) / wall - own - cpu / wall
        time.sleep(DRAIN_S)
        nodes.check("a node ended while frames were published")
        peak = nodes.peak_rss_mib()
    finally:
        nodes.stop()
    per_camera = {c: latencies_ms(stamps[c], bench.answers(c)) for c in cameras}
    if not all(per_camera.values()):
        raise nodes.failed("a camera had none of its measured frames answered")
    answered = sum(len(latencies) for latencies in per_camera.values())
    published = sum(len(s) for s in stamps.values())
    every = [ms for latencies in per_camera.values() for ms in latencies]
    boxes = bench.boxes(cameras[0], stamps[cameras[0]])
    progress(
        f"  published {published} frames ({published / wall:.1f} Hz in all), answered {answered}"
        f" ({boxes:.0f} boxes each); CPU cores: detector processes {cpu / wall:.2f}, this"
        f" process {own:.2f}, other processes {others:.2f}"
    )
    progress(f"  latency p50 {np.percentile(every, 50):.1f} ms, max {max(every):.1f} ms")
    for line in nodes.log_lines():
        progress(f"  node: {line}")
    p50s = [float(np.percentile(latencies, 50)) for latencies in per_camera.values()]
    p99s = [float(np.percentile(latencies, 99)) for latencies in per_camera.values()]
    return {
        "answered": answered / published,
        "answered_hz": answered / wall,
        "latency_p50_ms": statistics.median(p50s),
        "latency_p99_ms": max(p99s),
        "cpu_cores": cpu / wall,
        "cpu_ms_per_answer": cpu / answered * 1e3,
        "peak_rss_mb": peak,
        "udp_drops": drops,
    }


def udp_receive_buffer_errors() -> int:
    """The kernel's count of UDP datagrams dropped for want of receive buffer (all processes)."""
    text = read_snmp()
    count = receive_buffer_errors(text) if text is not None else None
    return count or 0


def tuned_dds_config() -> str:
    """Cyclone DDS as the test profile runs it: participant indices for many processes and a
    receive buffer for bursts of images, no larger than the kernel allows."""
    try:
        allowed = int(Path("/proc/sys/net/core/rmem_max").read_text())
    except (OSError, ValueError):
        allowed = RECEIVE_BUFFER_B
    size = min(RECEIVE_BUFFER_B, allowed)
    return (
        "<CycloneDDS><Domain><Discovery><ParticipantIndex>auto</ParticipantIndex>"
        "<MaxAutoParticipantIndex>50</MaxAutoParticipantIndex></Discovery><Internal>"
        f'<SocketReceiveBufferSize min="{size}B"/></Internal></Domain></CycloneDDS>'
    )


def one_thread_cpu_ms(model: Path, frame: np.ndarray) -> float:
    """Median CPU milliseconds of a single-thread run of ``model``, paced at 30 Hz."""
    options = session_options(BackendOptions(num_threads=1, busy_wait=False))
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    tensor = Letterboxer((CAMERAS_SIZE, CAMERAS_SIZE))(frame)[0]
    cpu_ms = []
    for run in range(BARE_WARMUP + 30):
        time.sleep(1 / 30)
        began = time.thread_time()  # one intra-op thread: the run is all on this thread
        session.run(None, {"images": tensor})
        if run >= BARE_WARMUP:
            cpu_ms.append((time.thread_time() - began) * 1e3)
    return statistics.median(cpu_ms)


def cameras_figures(
    bench: BenchNode, model: Path, frame: np.ndarray, logs: Path
) -> dict[str, float]:
    """One node for N cameras against N nodes, one per camera, on the same frames."""
    figures = {f"onnx{CAMERAS_SIZE}_one_thread_cpu_ms": one_thread_cpu_ms(model, frame)}
    for count in CAMERA_COUNTS:
        cameras = [f"/bench/cam{i}/image_raw" for i in range(count)]
        for hz in RATES_HZ:
            name = f"cams{count}_{hz}hz"
            layouts = {"one_node": [cameras], "per_camera": [[c] for c in cameras]}
            results = {}
            for layout, groups in layouts.items():
                progress(f"{name} {layout}: {len(groups)} node(s), publishing {MEASURE_S:.0f} s")
                command = functools.partial(detector_command, model)
                results[layout] = run_case(bench, command, hz, logs, f"{name}_{layout}", groups)
            for layout, case in results.items():
                for key in CAMERA_FIGURES:
                    figures[f"{name}_{layout}_{key}"] = case[key]
            one, separate = results["one_node"], results["per_camera"]
            for figure, key in RATIOS.items():
                figures[f"{name}_{figure}"] = one[key] / separate[key]
    return figures


def relay_figures(bench: BenchNode, logs: Path) -> dict[str, float]:
    """The relay's p50 and CPU per frame, taking messages and taking them serialized."""
    figures: dict[str, float] = {}
    for kind, serialized in (("messages", False), ("serialized", True)):
        progress(f"relay ({kind}) at {RELAY_HZ} Hz, publishing {MEASURE_S:.0f} s")
        command = functools.partial(relay_command, serialized)
        case = run_case(bench, command, RELAY_HZ, logs, f"relay_{kind}", [[IMAGE_TOPIC]])
        figures[f"relay_{kind}_latency_p50_ms"] = case["latency_p50_ms"]
        figures[f"relay_{kind}_cpu_ms_per_frame"] = case["cpu_ms_per_answer"]
    return figures


def model_figures(
    bench: BenchNode, size: int, model: Path, frame: np.ndarray, logs: Path, floor_ms: float
) -> dict[str, float]:
    """The bare model's p50 over all its blocks, and each case with its ratio against the bare
    blocks just before and just after it: this shared VM's speed drifts by up to 1.5x over tens
    of seconds, and the nearest blocks see the same drift as the case. ``floor_ms``: the
    serialized relay's p50, what DDS and rclpy add to any Python node."""
    bares = {
        "": BareModel(model, size, frame, False),
        "_busy_wait": BareModel(model, size, frame, True),
    }
    blocks = {suffix: [bare.measure()] for suffix, bare in bares.items()}
    figures: dict[str, float] = {}
    for hz in RATES_HZ:
        name = f"onnx{size}_{hz}hz"
        progress(f"{name}: starting the node, warming up, publishing for {MEASURE_S:.0f} s")
        command = functools.partial(detector_command, model)
        case = run_case(bench, command, hz, logs, name, [[IMAGE_TOPIC]])
        for suffix, bare in bares.items():
            blocks[suffix].append(bare.measure())
            nearest_ms = statistics.median(blocks[suffix][-2] + blocks[suffix][-1]) * 1e3
            progress(f"  bare session.run{suffix} p50 around this case {nearest_ms:.1f} ms")
            case[f"latency_p50_vs_bare{suffix}"] = case["latency_p50_ms"] / nearest_ms
            floor = nearest_ms + floor_ms
            case[f"latency_p50_vs_bare_plus_relay{suffix}"] = case["latency_p50_ms"] / floor
        case["node_cpu_cores"] = case.pop("cpu_cores")
        case["node_peak_rss_mb"] = case.pop("peak_rss_mb")
        del case["answered_hz"]
        figures |= {f"{name}_{key}": value for key, value in case.items()}
    bare_figures = {}
    for suffix, measured in blocks.items():
        runs = [seconds for block in measured for seconds in block]
        bare_ms = statistics.median(runs) * 1e3
        progress(f"onnx{size}: bare session.run{suffix} p50 {bare_ms:.1f} ms over {len(runs)} runs")
        bare_figures[f"onnx{size}_bare_p50_ms{suffix}"] = bare_ms
    return bare_figures | figures


def formatted(name: str, value: float) -> str:
    if name.endswith("_rss_mb"):
        return f"{value:.0f}"
    if name.endswith("_ms"):
        return f"{value:.1f}"
    return f"{value:.2f}"


def main() -> None:
    started = time.perf_counter()
    os.environ.setdefault(
        "CYCLONEDDS_URI", tuned_dds_config()
    )  # before rclpy.init, for the nodes too
    progress(f"CYCLONEDDS_URI={os.environ['CYCLONEDDS_URI']}")
    models = exported_models()
    frames = make_frames()
    # Python's own SIGINT handling (KeyboardInterrupt, then the finally blocks stop the node);
    # rclpy's would invalidate the context under the publisher first
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    bench = BenchNode(frames)
    executor = SingleThreadedExecutor()
    executor.add_node(bench)
    spinner = threading.Thread(target=executor.spin, name="bench-spin", daemon=True)
    spinner.start()
    figures: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="odet-bench-node-") as logs:
            if "cameras" not in sys.argv[1:]:
                figures |= relay_figures(bench, Path(logs))
                floor_ms = figures["relay_serialized_latency_p50_ms"]
                for size, model in models.items():
                    figures |= model_figures(bench, size, model, frames[0], Path(logs), floor_ms)
            if "single" not in sys.argv[1:]:
                figures |= cameras_figures(bench, models[CAMERAS_SIZE], frames[0], Path(logs))
    finally:
        executor.shutdown()
        bench.destroy_node()
        rclpy.try_shutdown()
        spinner.join(timeout=5.0)
    for name, value in figures.items():
        print(f"{name}: {formatted(name, value)}")
    progress(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        progress("interrupted")
        sys.exit(130)
