"""Shared fixtures (the tiny detector trained here, see test/support/models.py) and collection rules
that hold with ROS 2's pytest plugins loaded as well as without them."""

from __future__ import annotations

import logging
import os
import re
import types
from pathlib import Path

import pytest

# Helpers in support/ get pytest's assertion messages, as test modules do.
pytest.register_assert_rewrite("support")

from support.models import TinyModels, build_models, cached_models  # noqa: E402
from support.seg_models import TinySegModels, build_seg_models, cached_seg_models  # noqa: E402
from support.toolchains import (  # noqa: E402
    ToolchainModels,
    build_toolchain_models,
    cached_toolchain_models,
    toolchains_python,
)


def _propagate_logs() -> None:
    """Humble's `launch` (imported by its pytest plugin when ROS is sourced) makes every logger
    created after it non-propagating, which would hide odet_ros' log records from caplog."""
    logging.setLoggerClass(logging.Logger)
    for name, logger in logging.Logger.manager.loggerDict.items():
        if name.startswith("odet_ros") and isinstance(logger, logging.Logger):
            logger.propagate = True


_propagate_logs()

# Modules a ROS 2 install provides: in the ROS profile (ODET_REQUIRE_ROS=1) a test that skips
# for want of one of them fails instead, so that no node or launch test goes unnoticed.
ROS_MODULES = {
    "rclpy",
    "launch",
    "launch_ros",
    "launch_testing",
    "vision_msgs",
    "sensor_msgs",
    "message_filters",
    "tf2_ros",
    "diagnostic_msgs",
    "ament_index_python",
}
_MISSING_MODULE = re.compile(r"could not import '([\w.]+)'")
# Fixtures that only a ROS 2 install can give.
ROS_FIXTURES = {"ros_env"}


@pytest.fixture(scope="session")
def tiny_models() -> TinyModels:
    """The tiny models, built on first use where Ultralytics is installed."""
    cached = cached_models()
    if cached is not None:
        return cached
    pytest.importorskip(
        "ultralytics", reason="no cached tiny models and no Ultralytics to train them"
    )
    return build_models()


@pytest.fixture(scope="session")
def toolchain_models() -> ToolchainModels:
    """YOLOv5 and TFLite SSD models built with those tools (support/toolchains.py), built on
    first use where their venv (.venv-toolchains, set up by scripts/test.sh) is."""
    cached = cached_toolchain_models()
    if cached is not None:
        return cached
    python = toolchains_python()
    if python is None:
        pytest.skip(
            os.environ.get("ODET_TOOLCHAINS_UNAVAILABLE")
            or "no cached toolchain models and no .venv-toolchains to build them (the test"
            " command's workstation profile sets one up)"
        )
    return build_toolchain_models(python)


@pytest.fixture(scope="session")
def tiny_seg_models() -> TinySegModels:
    """The tiny segmentation model and its exports, built on first use where Ultralytics is."""
    cached = cached_seg_models()
    if cached is not None:
        return cached
    pytest.importorskip(
        "ultralytics", reason="no cached tiny segmentation model and no Ultralytics to train it"
    )
    return build_seg_models()


@pytest.fixture(scope="session")
def colcon_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built with colcon in a scratch workspace, the brightness model installed as
    the bundle ``bright``; the install folder (``source <it>/setup.bash`` to use it)."""
    pytest.importorskip("colcon_ros")
    from support.ros import colcon_build

    return colcon_build(tmp_path_factory.mktemp("ws"))


@pytest.fixture(scope="session")
def ros_env(colcon_install: Path) -> dict[str, str]:
    """A shell environment with ROS 2 and the scratch install sourced, for `ros2 launch`."""
    pytest.importorskip("launch_ros")
    from support.ros import sourced_environment

    return sourced_environment(colcon_install)


@pytest.hookimpl(hookwrapper=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector):
    """Humble's launch_testing plugin imports each test module while choosing its collector, so
    a module-level ``pytest.importorskip`` escapes from there and ends the whole collection
    ("no tests collected"). Such a module gets the ordinary collector, which reports the skip."""
    outcome = yield
    if outcome.excinfo is not None and isinstance(outcome.excinfo[1], pytest.skip.Exception):
        outcome.force_result(pytest.Module.from_parent(parent, path=module_path))


def _missing_ros_module(report: pytest.CollectReport | pytest.TestReport) -> str | None:
    if not report.skipped or not isinstance(report.longrepr, tuple):
        return None
    found = _MISSING_MODULE.search(str(report.longrepr[2]))
    if found and found.group(1).split(".")[0] in ROS_MODULES:
        return found.group(1)
    return None


def _fail_ros_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    module = _missing_ros_module(report) if os.environ.get("ODET_REQUIRE_ROS") == "1" else None
    if module:
        report.outcome = "failed"
        report.longrepr = f"ODET_REQUIRE_ROS=1 but {module!r} cannot be imported: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    _fail_ros_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    _fail_ros_skip(outcome.get_result())


def _from_ros(value: object) -> bool:
    """Whether a module-level name of a test module comes from ROS 2 (or from odet's nodes,
    which import rclpy)."""
    name = (
        value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", "")
    )
    if not isinstance(name, str):
        return False
    return name.split(".")[0] in ROS_MODULES or name.startswith("odet_ros.nodes")


def needs_ros(item: pytest.Item) -> bool:
    """A test that only a ROS 2 install runs: marked ``ros``, using a ROS fixture, or in a module
    that imports ROS 2 (rclpy, launch, messages, odet's nodes)."""
    if item.get_closest_marker("ros") or ROS_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    return module is not None and any(_from_ros(value) for value in vars(module).values())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """ODET_ROS_ONLY=1 (the ROS profile after the workstation profile ran the rest): run only
    the tests that need ROS 2; the whole suite is still collected under ROS's pytest plugins."""
    if os.environ.get("ODET_ROS_ONLY") != "1":
        return
    ros = {item.nodeid for item in items if needs_ros(item)}
    deselected = [item for item in items if item.nodeid not in ros]
    kept = [item for item in items if item.nodeid in ros]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
