"""Install a model bundle where ``detect.launch.py model:=NAME`` finds it, and prove it runs there.

Destinations, first that applies: ``into`` (a models folder), ``workspace`` (its
``src/odet_ros/models``, installed by the next colcon build), else the installed package's share
directory, found through the ament index when ROS is sourced. The bundle is copied under a
temporary name, loaded with the backends this machine has (one inference on a blank image), and
only then renamed into place: a bundle that cannot run here is never installed.

A bare model file (a YOLOv5 or TensorFlow export brought from elsewhere) becomes a bundle on
the way: its class names (``labels``, else its metadata, else a label file beside it) and the
layout the detector settled on loading it (input size, layout and type, resize, output format,
box units) are written into its ``bundle.yaml``, so the robot never guesses again.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from odet_ros.atomic import staged_folder
from odet_ros.detection.bundle import PACKAGE, ModelBundle, model_search_dirs
from odet_ros.detection.detector import Detector, load_detector
from odet_ros.errors import OdetError
from odet_ros.training.errors import DeployError

MODELS_FOLDER = "models"


@dataclass(frozen=True)
class Deployment:
    folder: Path  # the installed bundle
    backend: str  # the backend that ran it here
    launch_command: str
    rebuild_needed: bool  # installed into a workspace's sources: colcon build before launching


def deploy(
    bundle: str | Path,
    *,
    into: str | Path | None = None,
    workspace: str | Path | None = None,
    name: str | None = None,
    force: bool = False,
    labels: str | Path | None = None,
) -> Deployment:
    """Install ``bundle`` (a bundle folder, or a model file made one with ``labels``) as
    ``name`` (default: the folder's name, or the file's stem)."""
    source = Path(bundle).expanduser()
    if source.is_file():
        default_name = source.stem
    else:
        ModelBundle.load(source)  # a clear error for anything that is not a bundle
        default_name = source.resolve().name
        if labels is not None:
            raise DeployError(f"{source}: a bundle names its classes itself; labels are for files")
    models, in_sources = _models_folder(into, workspace)
    destination = models / (name or default_name)
    with staged_folder(destination, DeployError, replace=force) as staging:
        if source.is_file():
            shutil.copy2(source, staging / source.name)
            _describe(_loaded(source, source, labels), source.name).save(staging)
        else:
            shutil.copytree(source, staging, dirs_exist_ok=True)
        backend = _check_runs(staging, source)
    return Deployment(
        destination, backend, _launch_command(destination, in_sources), rebuild_needed=in_sources
    )


def _models_folder(into: str | Path | None, workspace: str | Path | None) -> tuple[Path, bool]:
    """(the models folder to install into, whether it is a package's sources)."""
    if into is not None:
        return Path(into).expanduser(), False
    if workspace is not None:
        package = Path(workspace).expanduser() / "src" / PACKAGE
        if not (package / "package.xml").is_file():
            raise DeployError(
                f"--workspace {workspace}: no {PACKAGE} package at {package} (no package.xml)"
            )
        return package / MODELS_FOLDER, True
    share = _installed_share()
    if share is None:
        raise DeployError(
            f"no installed {PACKAGE} found (is ROS 2 sourced?): pass --workspace WS to install"
            f" into WS/src/{PACKAGE}/models, or --into PATH"
        )
    return share / MODELS_FOLDER, False


def _installed_share() -> Path | None:
    """This package's share directory from the ament index, None without ROS."""
    try:
        from ament_index_python.packages import (
            PackageNotFoundError,
            get_package_share_directory,
        )
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE))
    except PackageNotFoundError:
        return None


def _describe(detector: Detector, model: str) -> ModelBundle:
    """The bundle of a model file as the detector settled it on loading."""
    spec, fmt = detector.input_spec, detector.output_format
    return ModelBundle(
        model=model,
        names=list(detector.names),
        imgsz=detector.input_size if spec.hw is not None else None,
        input_layout=spec.layout,
        input_dtype=spec.dtype.name,
        output_format=fmt.kind,
        box_units=fmt.box_units,
        resize=spec.resize,
    )


def _check_runs(folder: Path, source: Path) -> str:
    """Load the bundle in ``folder`` and run it once on a blank image; returns the backend."""
    detector = _loaded(folder, source)
    height, width = detector.input_size
    try:
        detector.detect(np.zeros((height, width, 3), np.uint8))
    except OdetError as error:
        raise DeployError(
            f"{source} does not run on this machine, not installed: {error}"
        ) from error
    return detector.backend_name


def _loaded(model: Path, source: Path, labels: str | Path | None = None) -> Detector:
    """``model`` loaded with this machine's backends; DeployError naming ``source`` if not."""
    try:
        return load_detector(model, labels=labels)
    except ImportError as error:
        raise DeployError(
            f"{source} needs {error.name or error} to run, which this machine lacks: not installed"
            " (an .onnx or .tflite bundle runs without PyTorch)"
        ) from error
    except OdetError as error:
        raise DeployError(
            f"{source} does not run on this machine, not installed: {error}"
        ) from error


def _launch_command(installed: Path, in_sources: bool) -> str:
    """The launch line: by name where the node looks for bundles, else by path."""
    searched = in_sources or installed.parent.resolve() in {
        folder.resolve() for folder in model_search_dirs()
    }
    model = installed.name if searched else str(installed.resolve())
    return f"ros2 launch {PACKAGE} detect.launch.py model:={model}"
