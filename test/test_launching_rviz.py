"""The rviz configuration detect.launch.py writes, fitted to the launch (no ROS needed)."""

from pathlib import Path

import yaml

from odet_ros.launching.rviz import MARKERS, rviz_config, write_rviz_config

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = yaml.safe_load((ROOT / "config" / "odet.rviz").read_text())


def _shown(config):
    manager = config["Visualization Manager"]
    displays = {d["Name"]: d["Topic"]["Value"] for d in manager["Displays"] if "Topic" in d}
    return displays, manager["Global Options"]["Fixed Frame"]


def test_a_realsense_launch_shows_its_topics_in_the_target_frame():
    config = rviz_config(
        TEMPLATE, "/camera/camera/color/image_raw", "/", depth=True, fixed_frame="base_link"
    )
    displays, fixed = _shown(config)
    assert displays["Camera"] == "/camera/camera/color/image_raw"
    assert displays["Detections"] == "/image_annotated"
    assert displays[MARKERS] == "/detection_markers"
    assert fixed == "base_link"  # where detections_3d and the markers are


def test_without_depth_no_markers_and_the_template_s_frame():
    displays, fixed = _shown(rviz_config(TEMPLATE, "/robot1/camera/image_raw", "/robot1/", False))
    assert MARKERS not in displays and displays["Detections"] == "/robot1/image_annotated"
    assert fixed == "camera_optical_frame"
    assert _shown(TEMPLATE)[1] == "camera_optical_frame"  # the template itself is untouched


def test_the_written_file_is_named_by_its_content(tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_HOME", str(tmp_path))
    config = rviz_config(TEMPLATE, "/camera/image_raw", "/", depth=True, fixed_frame="map")
    first, again = write_rviz_config(config), write_rviz_config(config)
    assert first == again and yaml.safe_load(first.read_text()) == config
    other = write_rviz_config(rviz_config(TEMPLATE, "/camera/image_raw", "/", depth=True))
    assert other != first and list(first.parent.glob("*.partial")) == []
