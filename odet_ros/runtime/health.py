"""How healthy a node's stream is, as /diagnostics levels, decided without ROS.

The levels have diagnostic_msgs/DiagnosticStatus's values, so the nodes pass them on as they are.
"""

from __future__ import annotations

from odet_ros.interfaces.diagnostics import Level, Status
from odet_ros.runtime.inference import InferenceWorker
from odet_ros.runtime.stats import StreamSummary

NO_IMAGE_WARNING_S = 5.0


def lifecycle_status(name: str, state: str, hardware_id: str = "") -> Status:
    """A managed node that is not active: nothing is wrong, nothing runs."""
    return Status(Level.OK, name, f"{state} (lifecycle)", hardware_id, {"lifecycle_state": state})


def no_image_warning(topic: str, received: int, waited_s: float, publishers: int) -> str | None:
    """What to tell a user whose detector has heard nothing for a while: the usual causes."""
    if received or waited_s < NO_IMAGE_WARNING_S:
        return None
    return (
        f"no image received on {topic} after {NO_IMAGE_WARNING_S:.0f} s ({publishers}"
        " publisher(s)); check the remapping (image:=...), image_transport and qos_reliability"
    )


def detector_statuses(
    node: str, state: str, model: str, worker: InferenceWorker | None, now: float
) -> list[Status]:
    """The detector's /diagnostics: one entry per camera (``<node>: object detection`` for a
    single camera) with its stream's figures while active, the lifecycle state otherwise."""
    frames = worker.frames if worker is not None else None
    if worker is None or not frames:
        return [lifecycle_status(f"{node}: object detection", state, model)]
    model = str(next(iter(frames.values())).detector.model_path)
    single = len(worker.cameras) == 1
    return [
        detector_status(
            f"{node}: {'object detection' if single else camera}",
            model,
            state,
            worker.received[camera],
            worker.summary(camera, now),
        )
        for camera in worker.cameras
    ]


def detector_status(
    name: str, model: str, state: str, received: int, summary: StreamSummary
) -> Status:
    """The detector's /diagnostics entry: its stream's figures while active, its lifecycle
    state otherwise."""
    if state != "active":
        return lifecycle_status(name, state, model)
    level, message = detector_health(received, summary)
    return Status(level, name, message, model, summary.as_dict())


def detector_health(received: int, summary: StreamSummary) -> tuple[Level, str]:
    """No frame yet is a warning (wrong topic, QoS or transport); frames that all fail, an error."""
    if received == 0:
        return Level.WARN, "no images received"
    if summary.failed and summary.processed == 0:
        return Level.ERROR, "every frame failed"
    return Level.OK, "running"


def depth_health(
    paired: int, missing: int, failed: int, received: int, unreadable: int = 0
) -> tuple[Level, str]:
    """The 3D step: a depth stream that is missing, late or unusable is a warning (the 2D
    detections still go out). ``unreadable``: depth frames whose bytes were no image."""
    if received == 0 and unreadable:
        return Level.WARN, "every depth frame was unreadable (see the log)"
    if received == 0:
        return Level.WARN, "no depth frames received: check depth_topic and that it publishes"
    if paired == 0 and failed:
        return Level.WARN, "every depth frame failed (see the log)"
    if missing > paired:
        return (
            Level.WARN,
            "depth late or missing for most frames: stamps further apart than depth_tolerance",
        )
    return Level.OK, "3D positions published"
