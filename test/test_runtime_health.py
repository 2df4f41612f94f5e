"""The /diagnostics levels the nodes report, decided without ROS."""

import logging

import pytest

from odet_ros.capture.health import capture_health
from odet_ros.interfaces.diagnostics import Level
from odet_ros.runtime.health import depth_health, detector_health
from odet_ros.runtime.stats import StreamSummary


def summary(processed: int, failed: int) -> StreamSummary:
    return StreamSummary(10.0, 20.0, 30.0, processed, 0, failed)


def test_detector_levels():
    assert detector_health(0, summary(0, 0)) == (Level.WARN, "no images received")
    assert detector_health(5, summary(0, 5)) == (Level.ERROR, "every frame failed")
    assert detector_health(5, summary(4, 1))[0] is Level.OK


def test_depth_levels():
    assert depth_health(0, 3, 0, 0) == (
        Level.WARN,
        "no depth frames received: check depth_topic and that it publishes",
    )
    assert depth_health(0, 3, 0, 0, unreadable=3) == (
        Level.WARN,
        "every depth frame was unreadable (see the log)",
    )
    assert depth_health(0, 0, 2, 2) == (Level.WARN, "every depth frame failed (see the log)")
    assert depth_health(1, 3, 0, 4)[1].startswith("depth late or missing")
    assert depth_health(4, 1, 0, 5, unreadable=1) == (Level.OK, "3D positions published")


def test_capture_levels():
    assert capture_health(True, "disk full", False) == (Level.ERROR, "disk full")
    assert capture_health(True, None, True) == (Level.WARN, "recording, but no frames arrive")
    assert capture_health(True, None, False) == (Level.OK, "recording")
    assert capture_health(False, None, True) == (Level.OK, "stopped")


def test_levels_are_diagnostic_status_values():
    # diagnostic_msgs/DiagnosticStatus: OK=0, WARN=1, ERROR=2
    assert [int(level) for level in Level] == [0, 1, 2]


def test_capture_health_warns_per_camera_that_fell_silent(tmp_path):
    from odet_ros.capture import CaptureRecorder, SessionSettings
    from odet_ros.capture.health import CaptureHealth
    from odet_ros.sampling import SamplerSettings

    recorder = CaptureRecorder(
        ["/a/image_raw", "/b/image_raw"],
        SamplerSettings(period=0.0),
        SessionSettings(tmp_path, min_free_disk_mb=0.0),
        logging.getLogger("test"),
    )
    health = CaptureHealth()
    recorder.start()
    recorder.cameras["/a/image_raw"].sampler.counters.seen = 3
    first = health.statuses("capture_node", recorder, {"/a/image_raw": {"select_kept": "1"}})
    assert [(s.name, s.level) for s in first] == [
        ("capture_node: /a/image_raw", Level.OK),
        ("capture_node: /b/image_raw", Level.WARN),
    ]
    assert first[0].values["select_kept"] == "1" and first[0].values["seen"] == "3"
    assert "select_kept" not in first[1].values  # each camera its own selection figures
    second = health.statuses("capture_node", recorder, {})
    assert second[0].level is Level.WARN  # nothing new on /a since the last report
    recorder.stop()


def test_a_refused_start_is_an_error_until_recording_starts(tmp_path):
    from odet_ros.capture import CaptureRecorder, SessionSettings
    from odet_ros.capture.health import CaptureHealth
    from odet_ros.errors import OdetError
    from odet_ros.sampling import SamplerSettings

    recorder = CaptureRecorder(
        ["/a/image_raw"],
        SamplerSettings(),
        SessionSettings(tmp_path, min_free_disk_mb=1e9),
        logging.getLogger("test"),
    )
    assert recorder.command("start")[0] is False
    (status,) = CaptureHealth().statuses("capture_node", recorder, {})
    assert status.level is Level.ERROR and "min_free_disk_mb" in status.message
    with pytest.raises(OdetError):
        recorder.start()
