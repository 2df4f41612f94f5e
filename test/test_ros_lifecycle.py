"""The managed detector and capture on a real ROS 2, as a robot's bring-up drives them:
`ros2 launch ... lifecycle:=true` and `ros2 lifecycle set` through every transition (the
configure-all, activate-all, deactivate to pause, deactivate + cleanup to reset of Nav2's
lifecycle_manager), detections only while active, the CPU an inactive detector holds, a failed
configure retried after `ros2 param set`, and autostart:=true. Runs where ROS 2 is installed."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy")
pytest.importorskip("launch_ros")
pytest.importorskip("vision_msgs")

from rclpy.qos import QoSProfile, ReliabilityPolicy
from support.ros import BUNDLE_NAME, Launched, Listener
from vision_msgs.msg import Detection2DArray

pytestmark = pytest.mark.slow  # every test runs `ros2 launch` (seconds each)

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
CPU_WINDOW_S = 3.0
STARTUP_GUARD = 120.0  # seconds: fails a launch that never gets there, never a speed check


@pytest.fixture
def camera(ros_env, tmp_path):
    """camera.launch.py looping bright frames at 10 fps on /camera/image_raw."""
    images = tmp_path / "images"
    images.mkdir()
    for index in range(3):
        cv2.imwrite(str(images / f"{index}.png"), np.full((120, 160, 3), 220 + index, np.uint8))
    command = ["ros2", "launch", "odet_ros", "camera.launch.py", f"source:={images}",
               "loop:=true", "fps:=10.0"]  # fmt: skip
    with Launched(command, ros_env, tmp_path / "camera.log") as launched:
        yield launched
        launched.stop()


def _lifecycle(ros_env, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ros2", "lifecycle", *arguments, "--no-daemon"] if arguments[0] == "get"
        else ["ros2", "lifecycle", *arguments],
        env=ros_env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _set(ros_env, node: str, transition: str) -> bool:
    done = _lifecycle(ros_env, "set", node, transition)
    return done.returncode == 0 and "Transitioning successful" in done.stdout


def _state(ros_env, node: str) -> str:
    return _lifecycle(ros_env, "get", node).stdout.split(" ")[0].strip()


def _detector_pid(launched: Launched) -> int:
    """The detector_node process under `ros2 launch` (a child of the launch process)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if b"detector_node" in cmdline and int(stat[1]) == launched.process.pid:
                return int(entry.name)
    raise AssertionError("no detector_node process under the launch")


def _cpu_cores(pid: int, seconds: float = CPU_WINDOW_S) -> float:
    """The CPU a process used over ``seconds``, in cores (1.0: one core busy)."""

    def ticks() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    start, began = ticks(), time.monotonic()
    time.sleep(seconds)
    return (ticks() - start) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - began)


def test_ros2_lifecycle_drives_the_detector_through_every_transition(ros_env, tmp_path, camera):
    command = ["ros2", "launch", "odet_ros", "detect.launch.py", f"model:={BUNDLE_NAME}",
               "lifecycle:=true"]  # fmt: skip
    with (
        Launched(command, ros_env, tmp_path / "detect.log") as detect,
        Listener() as listener,
    ):
        received = listener.subscribe(Detection2DArray, "/detections", RELIABLE)

        def answered_within(seconds: float) -> int:
            before = len(received)
            listener.wait_until(lambda: False, timeout=seconds)
            return len(received) - before

        assert detect.wait_for_output("waiting for configure"), detect.output()
        assert _state(ros_env, "/detector") == "unconfigured"
        assert _set(ros_env, "/detector", "configure")  # Nav2: configure all
        assert _state(ros_env, "/detector") == "inactive"
        assert answered_within(1.5) == 0
        pid = _detector_pid(detect)
        inactive_cpu = _cpu_cores(pid)
        assert _set(ros_env, "/detector", "activate")  # Nav2: activate all
        assert listener.wait_until(lambda: len(received) >= 3), detect.output()
        active_cpu = _cpu_cores(pid)
        assert _set(ros_env, "/detector", "deactivate")  # Nav2: pause
        listener.wait_until(lambda: False, timeout=0.5)
        assert answered_within(1.5) == 0
        assert _set(ros_env, "/detector", "activate")  # Nav2: resume
        assert listener.wait_until(lambda: answered_within(1.0) > 0), detect.output()
        assert _set(ros_env, "/detector", "deactivate")  # Nav2: reset
        assert _set(ros_env, "/detector", "cleanup")
        assert _state(ros_env, "/detector") == "unconfigured"
        assert _set(ros_env, "/detector", "shutdown")
        assert _state(ros_env, "/detector") == "finalized"
        assert detect.stop() == 0, detect.output()
    # inactive: a 1 Hz status timer and nothing else, against inference at the camera's 10 Hz
    assert inactive_cpu < 0.05, (inactive_cpu, active_cpu)
    assert inactive_cpu < active_cpu / 3, (inactive_cpu, active_cpu)


def test_a_failed_configure_is_retried_after_ros2_param_set(ros_env, tmp_path):
    command = ["ros2", "launch", "odet_ros", "detect.launch.py", "model:=/no/such/model.onnx",
               "lifecycle:=true"]  # fmt: skip
    with Launched(command, ros_env, tmp_path / "detect.log") as detect:
        assert detect.wait_for_output("waiting for configure"), detect.output()
        assert not _set(ros_env, "/detector", "configure")
        assert _state(ros_env, "/detector") == "unconfigured"
        failures = [line for line in detect.output().splitlines() if "configure failed" in line]
        assert len(failures) == 1 and "/no/such/model.onnx" in failures[0], detect.output()
        assert "Traceback" not in detect.output()
        changed = subprocess.run(
            ["ros2", "param", "set", "/detector", "model", BUNDLE_NAME],
            env=ros_env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert "Set parameter successful" in changed.stdout, changed.stdout + changed.stderr
        assert _set(ros_env, "/detector", "configure")
        assert _state(ros_env, "/detector") == "inactive"
        assert detect.stop() == 0, detect.output()


def test_autostart_configures_and_activates_the_detector(ros_env, tmp_path, camera):
    command = ["ros2", "launch", "odet_ros", "detect.launch.py", f"model:={BUNDLE_NAME}",
               "lifecycle:=true", "autostart:=true"]  # fmt: skip
    with (
        Launched(command, ros_env, tmp_path / "detect.log") as detect,
        Listener() as listener,
    ):
        received = listener.subscribe(Detection2DArray, "/detections", RELIABLE)
        # launch_ros waits for the node's change_state service: discovery, slow on a busy machine
        assert detect.wait_for_output("activate done", timeout=STARTUP_GUARD), detect.output()
        assert listener.wait_until(lambda: len(received) >= 3), detect.output()
        assert _state(ros_env, "/detector") == "active"
        assert detect.stop() == 0, detect.output()


def test_a_managed_capture_closes_its_bag_on_deactivate(ros_env, tmp_path, camera):
    out = tmp_path / "captures"
    command = ["ros2", "launch", "odet_ros", "capture.launch.py", f"output_dir:={out}",
               "period:=0.2", "lifecycle:=true", "autostart:=true"]  # fmt: skip
    with Launched(command, ros_env, tmp_path / "capture.log") as capture:
        assert capture.wait_for_output("recording session"), capture.output()
        capture.wait_for_output("never printed", timeout=2.0)
        assert _set(ros_env, "/capture_node", "deactivate"), capture.output()
        (bag,) = sorted(out.glob("capture_*/capture_*_0"))
        assert (bag / "metadata.yaml").exists()  # closed while the node lives on
        info = subprocess.run(
            ["ros2", "bag", "info", str(bag)],
            env=ros_env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert info.returncode == 0 and "/camera/image_raw/compressed" in info.stdout
        assert _state(ros_env, "/capture_node") == "inactive"
        assert capture.stop() == 0, capture.output()
