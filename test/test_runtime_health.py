"""The /diagnostics levels the nodes report, decided without ROS."""

from odet_ros.runtime.health import Level, capture_health, detector_health
from odet_ros.runtime.stats import StreamSummary


def summary(processed: int, failed: int) -> StreamSummary:
    return StreamSummary(10.0, 20.0, 30.0, processed, 0, failed)


def test_detector_levels():
    assert detector_health(0, summary(0, 0)) == (Level.WARN, "no images received")
    assert detector_health(5, summary(0, 5)) == (Level.ERROR, "every frame failed")
    assert detector_health(5, summary(4, 1))[0] is Level.OK


def test_capture_levels():
    assert capture_health(True, "disk full", False) == (Level.ERROR, "disk full")
    assert capture_health(True, None, True) == (Level.WARN, "recording, but no frames arrive")
    assert capture_health(True, None, False) == (Level.OK, "recording")
    assert capture_health(False, None, True) == (Level.OK, "stopped")


def test_levels_are_diagnostic_status_values():
    # diagnostic_msgs/DiagnosticStatus: OK=0, WARN=1, ERROR=2
    assert [int(level) for level in Level] == [0, 1, 2]
