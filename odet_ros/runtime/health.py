"""How healthy a node's stream is, as /diagnostics levels, decided without ROS.

The levels have diagnostic_msgs/DiagnosticStatus's values, so the nodes pass them on as they are.
"""

from __future__ import annotations

from enum import IntEnum

from odet_ros.runtime.stats import StreamSummary


class Level(IntEnum):
    OK = 0
    WARN = 1
    ERROR = 2


def detector_health(received: int, summary: StreamSummary) -> tuple[Level, str]:
    """No frame yet is a warning (wrong topic, QoS or transport); frames that all fail, an error."""
    if received == 0:
        return Level.WARN, "no images received"
    if summary.failed and summary.processed == 0:
        return Level.ERROR, "every frame failed"
    return Level.OK, "running"


def capture_health(recording: bool, error: str | None, silent: bool) -> tuple[Level, str]:
    """A camera that sends nothing while recording is a warning; a recorder error, an error."""
    if error:
        return Level.ERROR, error
    if recording and silent:
        return Level.WARN, "recording, but no frames arrive"
    return Level.OK, "recording" if recording else "stopped"


def depth_health(paired: int, missing: int, failed: int, received: int) -> tuple[Level, str]:
    """The 3D step: a depth stream that is missing, late or unusable is a warning (the 2D
    detections still go out)."""
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
