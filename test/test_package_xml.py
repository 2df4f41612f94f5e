"""package.xml: every dependency is a key `rosdep install` resolves on Humble and Jazzy.

A ROS package must be one the ROS install has (checked against the ament index where ROS is
sourced: the test command's ROS profile). Any other key must be one of the system-package keys
below, taken from rosdistro's rosdep/python.yaml (each maps to an apt package of the same name on
Ubuntu jammy and noble), and its module must import. `ament_python` is a build type, not a key,
and rosdep's pip keys are left out on purpose (the README says why).
"""

from __future__ import annotations

import importlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_KEYS = {  # rosdep key -> the Python module it provides
    "python3-numpy": "numpy",
    "python3-opencv": "cv2",
    "python3-yaml": "yaml",
    "python3-tqdm": "tqdm",
    "python3-pytest": "pytest",
    "python3-hypothesis": "hypothesis",
}
DEPENDS = ("depend", "exec_depend", "build_depend", "buildtool_depend", "test_depend")


def keys() -> list[str]:
    root = ET.parse(ROOT / "package.xml").getroot()
    return [element.text.strip() for tag in DEPENDS for element in root.iter(tag)]


def test_system_keys_are_known_rosdep_keys_whose_modules_import():
    system = [key for key in keys() if key.startswith("python3-")]
    assert system, "package.xml declares no Python dependency"
    for key in system:
        assert key in SYSTEM_KEYS, f"{key} is not a rosdep key with an apt package"
        importlib.import_module(SYSTEM_KEYS[key])


def test_no_build_type_or_pip_key_is_declared():
    assert "ament_python" not in keys()  # a build type; rosdep has no such key
    assert not [key for key in keys() if key.endswith("-pip")]
    assert "rviz2" not in keys()  # pulls Qt onto headless robots


@pytest.mark.ros
def test_ros_packages_are_in_the_ros_install():
    index = pytest.importorskip("ament_index_python.packages")
    for key in keys():
        if not key.startswith("python3-"):
            assert key in index.get_packages_with_prefixes(), f"{key} is not a ROS package here"
