"""`colcon build` of the package, as on a robot: the install tree `ros2 run` and `ros2 launch`
use (scripts in lib/odet_ros, launch, config, rviz and model bundles in share/odet_ros, the
ament index marker). colcon builds an ament_python package without ROS, so this runs here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from odet_ros.detection import load_detector

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("camera_node", "capture_node", "detector_node", "odet")


@pytest.fixture(scope="module")
def install(colcon_install: Path) -> Path:
    return colcon_install / "odet_ros"


def test_nodes_and_the_cli_are_installed_where_ros2_run_looks(install):
    for script in SCRIPTS:
        path = install / "lib" / "odet_ros" / script
        assert path.is_file() and os.access(path, os.X_OK), script
    site = next(install.glob("lib/python3*/site-packages"))
    version = subprocess.run(
        [str(install / "lib" / "odet_ros" / "odet"), "--version"],
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "odet" in version.stdout + version.stderr
    assert sorted(p.name for p in (site / "odet_ros" / "bags" / "msg").rglob("*.msg"))


def test_share_holds_launch_config_rviz_models_and_the_ament_marker(install):
    share = install / "share" / "odet_ros"
    launch = {p.name for p in (share / "launch").iterdir()}
    assert launch == {p.name for p in (ROOT / "launch").glob("*.launch.py")}
    config = {p.name for p in (share / "config").iterdir()}
    assert {"detector.yaml", "camera.yaml", "capture.yaml", "odet.rviz"} <= config
    assert (share / "package.xml").read_bytes() == (ROOT / "package.xml").read_bytes()
    assert (install / "share" / "ament_index" / "resource_index" / "packages" / "odet_ros").exists()
    # a bundle keeps its folder, and the detector loads it from the install
    detector = load_detector(share / "models" / "bright")
    assert detector.names == ["bright", "never"]
