"""The package used as a robot user uses it: a colcon build, `ros2 launch` and `ros2 bag` in
process groups of their own (stopped with SIGINT, as Ctrl-C does), and a listener node on real
DDS in the test process. rclpy is imported only by :class:`Listener`, so this module loads
anywhere."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
BRIGHTNESS_MODEL = ROOT / "test" / "data" / "brightness_model.onnx"
BUNDLE_NAME = "bright"  # the brightness model, installed as a bundle in share/odet_ros/models
HANG_GUARD = 30.0  # seconds: fails a test that would otherwise hang, never a speed check


def _source_files() -> list[str]:
    """Tracked and new (not ignored) files: what a clone with the change would hold."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def colcon_build(workspace: Path) -> Path:
    """Build the package in ``workspace`` with colcon, as on a robot, plus the brightness model
    as an installed bundle; returns the install folder. colcon runs under this interpreter, so
    the node scripts' shebang is this environment's Python (the robot recipe's venv)."""
    source = workspace / "src" / "odet_ros"
    for name in _source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    bundle = source / "models" / BUNDLE_NAME
    bundle.mkdir(parents=True)
    shutil.copy(BRIGHTNESS_MODEL, bundle / "bright.onnx")
    (bundle / "bundle.yaml").write_text(
        yaml.safe_dump({"model": "bright.onnx", "names": ["bright", "never"]})
    )
    build = subprocess.run(
        [sys.executable, "-m", "colcon", "build", "--base-paths", "src"],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0:
        raise RuntimeError(f"colcon build failed:\n{build.stdout}\n{build.stderr}")
    return workspace / "install"


def sourced_environment(install: Path) -> dict[str, str]:
    """The environment after ``source install/setup.bash``, as a user's shell has it."""
    dumped = subprocess.run(
        ["bash", "-c", f"source {install}/setup.bash && env -0"],
        capture_output=True,
        check=True,
    )
    pairs = (entry.split("=", 1) for entry in dumped.stdout.decode().split("\0") if "=" in entry)
    return dict(pairs)


class Launched:
    """A command (``ros2 launch``, ``ros2 bag play``) in a process group of its own."""

    def __init__(self, command: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.command = list(command)
        self.log = log
        self._stream = log.open("wb")
        self.process = subprocess.Popen(
            self.command,
            env=env,
            stdout=self._stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = HANG_GUARD) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            if self.process.poll() is not None:
                return text in self.output()
            time.sleep(0.1)
        return False

    def wait(self, timeout: float = HANG_GUARD) -> int:
        return self.process.wait(timeout)

    def stop(self, signum: int = signal.SIGINT, timeout: float = 20.0) -> int:
        """Send ``signum`` to the whole group and wait; a group still alive after ``timeout``
        is killed and the test fails."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"{' '.join(self.command)} still running {timeout:.0f} s after"
                    f" {signal.Signals(signum).name}:\n{self.output()[-3000:]}"
                ) from None
        self._stream.close()
        return self.process.returncode

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.process.wait(HANG_GUARD)

    def __enter__(self) -> Launched:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.kill()
        self._stream.close()


class Listener:
    """A node of the test's own on real DDS, spun by a background thread."""

    def __init__(self, name: str = "odet_test_listener", namespace: str = "") -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, namespace=namespace, context=self.context)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        while self.context.ok():
            with self._lock:
                try:
                    self._executor.spin_once(timeout_sec=0.05)
                except ExternalShutdownException:  # close() ran while it waited
                    return
            time.sleep(0.001)

    def subscribe(self, msg_type: Any, topic: str, qos: Any = 10) -> list[Any]:
        """Messages received on ``topic``, appended as they arrive."""
        received: list[Any] = []
        with self._lock:
            self.node.create_subscription(msg_type, topic, received.append, qos)
        return received

    def publisher(self, msg_type: Any, topic: str, qos: Any = 10) -> Any:
        with self._lock:
            return self.node.create_publisher(msg_type, topic, qos)

    def call(self, service_type: Any, name: str, request: Any) -> Any:
        """Call a service and wait for the response (None if none came)."""
        with self._lock:
            client = self.node.create_client(service_type, name)
        try:
            if not client.wait_for_service(timeout_sec=HANG_GUARD):
                return None
            future = client.call_async(request)
            self.wait_until(future.done)
            return future.result()
        finally:
            with self._lock:
                self.node.destroy_client(client)

    def wait_until(self, condition: Callable[[], bool], timeout: float = HANG_GUARD) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return condition()

    def close(self) -> None:
        self.context.try_shutdown()
        self._thread.join(HANG_GUARD)
        self._executor.shutdown()
        self.node.destroy_node()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def play_paused(ros_env: dict[str, str], tmp_path: Path, bag: Path, *topics: str) -> Launched:
    """`ros2 bag play` of ``topics``, paused until :func:`resume`."""
    command = ["ros2", "bag", "play", str(bag), "--start-paused", "--topics", *topics]
    return Launched(command, ros_env, tmp_path / f"play_{bag.name}.log")


def resume(listener: Listener, topic: str) -> None:
    """Resume the player once its publisher on ``topic`` is known on both sides, so that the
    first message is not lost to discovery (as a driver started earlier would have been)."""
    from rosbag2_interfaces.srv import Resume

    assert listener.wait_until(lambda: listener.node.count_publishers(topic) > 0)
    listener.wait_until(lambda: False, timeout=1.0)
    assert listener.call(Resume, "/rosbag2_player/resume", Resume.Request()) is not None
