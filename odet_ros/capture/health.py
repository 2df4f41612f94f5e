"""/diagnostics of a capture, decided without ROS: per camera its counters, and whether frames
still arrive."""

from __future__ import annotations

from collections.abc import Mapping

from odet_ros.capture.recorder import CaptureRecorder
from odet_ros.interfaces.diagnostics import Level, Status


def capture_health(recording: bool, error: str | None, silent: bool) -> tuple[Level, str]:
    """A camera that sends nothing while recording is a warning; a recorder error, an error."""
    if error:
        return Level.ERROR, error
    if recording and silent:
        return Level.WARN, "recording, but no frames arrive"
    return Level.OK, "recording" if recording else "stopped"


class CaptureHealth:
    """Per camera: a Status each report, WARN when nothing arrived since the last report."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def statuses(
        self, node: str, recorder: CaptureRecorder, extra: Mapping[str, Mapping[str, str]]
    ) -> list[Status]:
        """One Status per camera, with the ``extra`` figures of that camera (its selection's)."""
        statuses = []
        for camera in recorder.status():
            seen = camera.counters.seen
            silent = seen == self._seen.get(camera.topic, 0)
            self._seen[camera.topic] = seen
            level, message = capture_health(recorder.recording, recorder.last_error, silent)
            values = {**camera.values(recorder.session), **extra.get(camera.topic, {})}
            statuses.append(Status(level, f"{node}: {camera.topic}", message, camera.topic, values))
        return statuses
