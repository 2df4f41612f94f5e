"""The rviz configuration of detect.launch.py, fitted to the launch's topics.

``config/odet.rviz`` is the template: a Camera image, the annotated Detections image and the 3D
markers. The launch resolves the camera and output topics (namespace, remapping, chosen camera)
and keeps the markers display only when there is a depth topic, as nothing publishes them
otherwise; the result is written under ``$ROS_HOME/odet/`` (named by its content, so repeated
launches reuse one file).
"""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path
from typing import Any

import yaml

CAMERA, DETECTIONS, MARKERS = "Camera", "Detections", "Objects 3D"  # display names in the template


def rviz_config(
    template: dict[str, Any], image: str, outputs: str, depth: bool, fixed_frame: str = ""
) -> dict[str, Any]:
    """``template`` with the Camera display on ``image``, the Detections and markers on the
    outputs of the namespace ``outputs`` (``/`` or ``/robot1``), markers only with ``depth``.

    The markers are in the detector's ``target_frame`` when it has one, so that is the fixed
    frame given; else the template's (``camera_optical_frame``, camera_node's), as the camera's
    own optical frame is known only from its images."""
    config: dict[str, Any] = copy.deepcopy(template)
    base = outputs.rstrip("/")
    topics = {
        CAMERA: image,
        DETECTIONS: f"{base}/image_annotated",
        MARKERS: f"{base}/detection_markers",
    }
    manager = config["Visualization Manager"]
    if fixed_frame:
        manager["Global Options"]["Fixed Frame"] = fixed_frame
    manager["Displays"] = [
        display for display in manager["Displays"] if depth or display.get("Name") != MARKERS
    ]
    for display in manager["Displays"]:
        if display.get("Name") in topics:
            display["Topic"]["Value"] = topics[display["Name"]]
    return config


def write_rviz_config(config: dict[str, Any]) -> Path:
    """The configuration as a file rviz2 can open, under ``$ROS_HOME/odet/rviz/``."""
    text = yaml.safe_dump(config, sort_keys=False)
    home = Path(os.environ.get("ROS_HOME", Path.home() / ".ros"))
    folder = home / "odet" / "rviz"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"detect_{hashlib.sha256(text.encode()).hexdigest()[:12]}.rviz"
    if not path.exists():
        staged = path.with_suffix(".partial")
        staged.write_text(text)
        staged.replace(path)
    return path
