"""Collecting data on a real ROS 2, as a robot user does it: `ros2 launch` of camera.launch.py and
capture.launch.py over real DDS, the bag they write read by `ros2 bag info`, stops by SIGINT,
SIGTERM and SIGKILL. Runs where ROS 2 is installed (the test command's ROS profile)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy")
pytest.importorskip("launch_ros")

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from support.disk import fill, small_disk
from support.ros import Launched, Listener, play_paused, resume

from odet_ros.bags import read_messages
from odet_ros.imaging import numpy_to_image

pytestmark = pytest.mark.slow  # every test runs `ros2 launch` (seconds each)

RECORD_S = 4.0  # long enough for a few kept frames at the test camera's 10 fps


def _noise(index: int, size=(96, 128)) -> np.ndarray:
    """Frames far apart (the duplicate filter keeps each) and sharp (the blur filter too)."""
    return np.random.default_rng(index).integers(0, 256, (*size, 3), dtype=np.uint8)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    for index in range(6):
        cv2.imwrite(str(images / f"{index:02d}.png"), _noise(index))
    return images


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "drive.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (128, 96))
    for index in range(6):
        writer.write(_noise(index))
    writer.release()
    return path


def _launch(ros_env, tmp_path: Path, name: str, *arguments: str) -> Launched:
    log = tmp_path / f"{name.split('.', maxsplit=1)[0]}.log"
    return Launched(["ros2", "launch", "odet_ros", name, *arguments], ros_env, log)


def _bags(output_dir: Path) -> list[Path]:
    return sorted(p for p in output_dir.glob("*/*") if p.is_dir())


def _ros2_bag_info(ros_env, bag: Path) -> str:
    result = subprocess.run(
        ["ros2", "bag", "info", str(bag)],
        env=ros_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _count(info: str, topic: str) -> int:
    """The message count `ros2 bag info` gives for ``topic``."""
    for line in info.splitlines():
        if f"Topic: {topic} " in line:
            return int(line.split("Count:")[1].split("|")[0])
    raise AssertionError(f"{topic} not in:\n{info}")


def _record(capture: Launched, seconds: float = RECORD_S) -> None:
    assert capture.wait_for_output("recording session"), capture.output()
    try:
        capture.wait_for_output("never printed", timeout=seconds)
    finally:
        assert capture.stop(signal.SIGINT) == 0, capture.output()


@pytest.mark.parametrize("source", ["folder", "video"])
def test_camera_launch_into_capture_launch_gives_a_bag_ros2_bag_reads(
    ros_env, tmp_path, source, request
):
    out = tmp_path / "captures"
    path = request.getfixturevalue(source)
    with (
        _launch(ros_env, tmp_path, "camera.launch.py", f"source:={path}", "loop:=true",
                "fps:=10.0") as camera,
        _launch(ros_env, tmp_path, "capture.launch.py", f"output_dir:={out}",
                "period:=0.0") as capture,
    ):  # fmt: skip
        _record(capture)
        assert camera.stop(signal.SIGINT) == 0, camera.output()
    (bag,) = _bags(out)
    info = _ros2_bag_info(ros_env, bag)
    assert _count(info, "/camera/image_raw/compressed") >= 3
    assert _count(info, "/camera/camera_info") >= 1
    frames = [m for m in read_messages(bag) if m.topic.endswith("compressed")]
    assert {m.msg.header.frame_id for m in frames} == {"camera_optical_frame"}
    assert "Traceback" not in camera.output() + capture.output()
    _play_back(ros_env, tmp_path, bag, "/camera/image_raw/compressed", CompressedImage)


def _play_back(ros_env, tmp_path: Path, bag: Path, topic: str, msg_type) -> None:
    """`ros2 bag play` serves the bag's frames to a reliable subscriber (as rviz subscribes)."""
    with Listener() as listener:
        received = listener.subscribe(msg_type, topic, 100)
        with play_paused(ros_env, tmp_path, bag, topic) as player:
            resume(listener, topic)
            assert player.wait() == 0, player.output()
        count = sum(1 for m in read_messages(bag, topics=[topic]))
        assert listener.wait_until(lambda: len(received) == count), player.output()


def test_camera_launch_into_record_launch_records_everything(ros_env, tmp_path, folder):
    out = tmp_path / "recordings"
    with (
        _launch(ros_env, tmp_path, "camera.launch.py", f"source:={folder}", "loop:=true",
                "fps:=10.0") as camera,
        _launch(ros_env, tmp_path, "record.launch.py", f"output_dir:={out}") as record,
    ):  # fmt: skip
        assert record.wait_for_output("Subscribed to topic '/camera/image_raw'"), record.output()
        record.wait_for_output("never printed", timeout=2.0)
        assert record.stop() == 0, record.output()
        assert camera.stop() == 0
    (bag,) = sorted(out.glob("record_*"))
    info = _ros2_bag_info(ros_env, bag)
    assert _count(info, "/camera/image_raw") >= 5
    assert _count(info, "/camera/camera_info") >= 5
    _play_back(ros_env, tmp_path, bag, "/camera/image_raw", Image)


@pytest.mark.parametrize("namespace", ["", "robot1"])
def test_capture_launch_starts_its_own_camera(ros_env, tmp_path, folder, namespace):
    """The README's `capture.launch.py start_camera:=true source:=...`, also on a namespaced
    robot, where the camera goes to <namespace>/camera and the default topic follows."""
    out = tmp_path / "captures"
    arguments = ["start_camera:=true", f"source:={folder}", "loop:=true", "fps:=10.0",
                 f"output_dir:={out}", "period:=0.0"]  # fmt: skip
    if namespace:
        arguments.append(f"namespace:={namespace}")
    with _launch(ros_env, tmp_path, "capture.launch.py", *arguments) as capture:
        _record(capture)
    prefix = f"/{namespace}" if namespace else ""
    (bag,) = _bags(out)
    info = _ros2_bag_info(ros_env, bag)
    assert _count(info, f"{prefix}/camera/image_raw/compressed") >= 3
    assert _count(info, f"{prefix}/camera/camera_info") >= 1
    assert "camera_node" in capture.output() and "Traceback" not in capture.output()


def _publish_until_kept(listener: Listener, frames: int) -> list[int]:
    """Publish distinct frames as a camera driver would; their stamps (ns)."""
    publisher = listener.publisher(Image, "/camera/image_raw", 10)
    assert listener.wait_until(lambda: publisher.get_subscription_count() > 0)
    # Matched on our side; give the subscriber's side a moment too, or the first frame is lost
    # (DDS discovery, not the node: a camera that started earlier has long been matched).
    listener.wait_until(lambda: False, timeout=0.5)
    stamps = []
    for index in range(frames):
        header = Header(frame_id="camera_optical_frame")
        header.stamp.sec = 1_000 + index
        publisher.publish(numpy_to_image(_noise(index), "bgr8", header, Image))
        stamps.append((1_000 + index) * 1_000_000_000)
        listener.wait_until(lambda: False, timeout=0.1)
    return stamps


def _capture_node(colcon_install: Path, ros_env, tmp_path: Path, out: Path) -> Launched:
    """capture_node run directly, as a systemd unit or a supervisor runs it."""
    executable = colcon_install / "odet_ros" / "lib" / "odet_ros" / "capture_node"
    command = [str(executable), "--ros-args", "-p", f"output_dir:={out}", "-p", "period:=0.0"]
    return Launched(command, ros_env, tmp_path / "capture_node.log")


@pytest.mark.parametrize(
    "how", ["ros2 launch, SIGINT", "the node alone, SIGINT", "the node alone, SIGTERM"]
)
def test_a_signal_closes_the_bag_with_every_frame(colcon_install, ros_env, tmp_path, how):
    out = tmp_path / "captures"
    if how.startswith("ros2 launch"):
        started = _launch(
            ros_env, tmp_path, "capture.launch.py", f"output_dir:={out}", "period:=0.0"
        )
    else:
        started = _capture_node(colcon_install, ros_env, tmp_path, out)
    signum = signal.SIGTERM if how.endswith("SIGTERM") else signal.SIGINT
    with started as capture, Listener() as listener:
        assert capture.wait_for_output("recording session"), capture.output()
        stamps = _publish_until_kept(listener, 5)
        listener.wait_until(lambda: False, timeout=1.0)
        assert capture.stop(signum) == 0, capture.output()
    (bag,) = _bags(out)
    assert (bag / "metadata.yaml").is_file()  # closed cleanly
    stored = [m.msg.header.stamp for m in read_messages(bag) if m.topic.endswith("compressed")]
    assert [s.sec * 1_000_000_000 + s.nanosec for s in stored] == stamps
    assert "Traceback" not in capture.output()


def test_sigkill_loses_at_most_the_flush_period(ros_env, tmp_path):
    """A power cut: every frame older than flush_period (2 s here) is on disk."""
    out = tmp_path / "captures"
    with (
        _launch(ros_env, tmp_path, "capture.launch.py", f"output_dir:={out}",
                "period:=0.0") as capture,
        Listener() as listener,
    ):  # fmt: skip
        assert capture.wait_for_output("recording session"), capture.output()
        stamps = _publish_until_kept(listener, 5)
        listener.wait_until(lambda: False, timeout=2.0 + 1.5)  # flush_period and a margin
        capture.kill()
    (bag,) = _bags(out)
    assert not (bag / "metadata.yaml").exists()  # cut short, as by a power cut
    stored = [m.msg.header.stamp for m in read_messages(bag) if m.topic.endswith("compressed")]
    assert [s.sec * 1_000_000_000 + s.nanosec for s in stored] == stamps


def test_capture_subscribes_so_that_any_camera_reaches_it(ros_env, tmp_path):
    """Best effort hears reliable and best-effort drivers alike."""
    out = tmp_path / "captures"
    with (
        _launch(ros_env, tmp_path, "capture.launch.py", f"output_dir:={out}",
                "image_topics:=['/cam_be/image_raw/compressed']") as capture,
        Listener() as listener,
    ):  # fmt: skip
        assert capture.wait_for_output("recording session"), capture.output()
        publisher = listener.publisher(
            CompressedImage, "/cam_be/image_raw/compressed", qos_profile_sensor_data
        )
        assert listener.wait_until(lambda: publisher.get_subscription_count() > 0)
        capture.stop(signal.SIGINT)


def _capture_on(ros_env, tmp_path: Path, out: Path, *parameters: str) -> Launched:
    """capture_node run directly with ``parameters`` (name:=value)."""
    command = ["ros2", "run", "odet_ros", "capture_node", "--ros-args", "-p",
               f"output_dir:={out}", "-p", "period:=0.0", "-p", "status_period:=0.5"]  # fmt: skip
    for parameter in parameters:
        command += ["-p", parameter]
    return Launched(command, ros_env, tmp_path / "capture_node.log")


def _errors(arrays: list[DiagnosticArray]) -> list[str]:
    """The ERROR messages capture_node put on /diagnostics."""
    return [
        status.message
        for array in arrays
        for status in array.status
        if status.name.startswith("capture_node") and status.level == DiagnosticStatus.ERROR
    ]


def test_a_disk_filled_by_another_process_stops_recording_and_keeps_the_bag(ros_env, tmp_path):
    """The disk fills between two free-space checks: one error line, the node stays up with
    ERROR diagnostics, and `ros2 bag info` opens the bag with what was flushed before."""
    with (
        small_disk(tmp_path / "disk", size_mb=24) as disk,
        _capture_on(ros_env, tmp_path, disk, "min_free_disk_mb:=0.0",
                    "flush_period:=0.3") as capture,
        Listener() as listener,
    ):  # fmt: skip
        arrays = listener.subscribe(DiagnosticArray, "/diagnostics")
        assert capture.wait_for_output("recording session"), capture.output()
        _publish_until_kept(listener, 5)
        listener.wait_until(lambda: False, timeout=1.0)  # flushed
        fill(disk, leave_bytes=32 * 1024)
        publisher = listener.publisher(Image, "/camera/image_raw", 10)
        for index in range(5, 60):
            if "recording stopped" in capture.output():
                break
            header = Header(frame_id="camera_optical_frame")
            header.stamp.sec = 1_000 + index
            publisher.publish(numpy_to_image(_noise(index, (240, 320)), "bgr8", header, Image))
            listener.wait_until(lambda: False, timeout=0.1)
        assert capture.wait_for_output("recording stopped"), capture.output()
        assert listener.wait_until(lambda: bool(_errors(arrays))), capture.output()
        assert capture.process.poll() is None  # still up, answering its services
        (bag,) = _bags(disk)
        info = _ros2_bag_info(ros_env, bag)
        assert _count(info, "/camera/image_raw/compressed") >= 5
        assert capture.stop() == 0, capture.output()
    output = capture.output()
    assert output.count("recording stopped") == 1 and "Traceback" not in output
    assert "No space left on device" in _errors(arrays)[0]


def test_a_refusal_to_start_for_low_disk_is_an_error_on_diagnostics(ros_env, tmp_path):
    """A 16 MB disk is under the default min_free_disk_mb (1024)."""
    with (
        small_disk(tmp_path / "disk", size_mb=16) as disk,
        _capture_on(ros_env, tmp_path, disk) as capture,
        Listener() as listener,
    ):
        arrays = listener.subscribe(DiagnosticArray, "/diagnostics")
        assert capture.wait_for_output("cannot start recording"), capture.output()
        assert listener.wait_until(lambda: bool(_errors(arrays))), capture.output()
        assert capture.stop() == 0
    assert "min_free_disk_mb" in _errors(arrays)[0]
