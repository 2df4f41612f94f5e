"""`odet deploy`: a bundle installed into a models folder or a workspace, run once first; one that
cannot run here is never installed. ONNX bundles only: runs in the robot profile too."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from odet_ros.cli.main import main
from odet_ros.detection import ModelBundle, ModelError, load_detector
from odet_ros.training.deploy import deploy
from odet_ros.training.errors import DeployError

pytestmark = pytest.mark.slow  # every test deploys the tiny models (trained on first use)


@pytest.fixture
def bundle(tiny_models, tmp_path):
    """A bundle folder around the tiny ONNX model, as `odet export` writes one."""
    folder = tmp_path / "shapes-onnx"
    folder.mkdir()
    shutil.copy(tiny_models.model("tiny.onnx"), folder / "tiny.onnx")
    ModelBundle(
        model="tiny.onnx", names=tiny_models.names, imgsz=(160, 160), box_units="pixels"
    ).save(folder)
    return folder


def test_install_into_a_models_folder_runs_it_and_names_it_by_path(bundle, tmp_path, tiny_models):
    models = tmp_path / "robot" / "models"
    deployment = deploy(bundle, into=models)
    installed = models / "shapes-onnx"
    assert deployment.folder == installed
    assert deployment.backend == "onnxruntime"
    assert sorted(p.name for p in installed.iterdir()) == ["bundle.yaml", "tiny.onnx"]
    assert (installed / "tiny.onnx").read_bytes() == (bundle / "tiny.onnx").read_bytes()
    assert load_detector(installed).names == tiny_models.names
    # not a folder the node searches: the command names the bundle by its path
    assert deployment.launch_command == (
        f"ros2 launch odet_ros detect.launch.py model:={installed.resolve()}"
    )
    assert [p.name for p in models.iterdir()] == ["shapes-onnx"]  # no staging left


def test_install_into_a_workspace_names_the_bundle_and_asks_for_a_build(bundle, tmp_path, capsys):
    package = tmp_path / "ws" / "src" / "odet_ros"
    package.mkdir(parents=True)
    (package / "package.xml").write_text("<package/>")
    code = main(["deploy", str(bundle), "--workspace", str(tmp_path / "ws"), "--name", "shapes"])
    assert code == 0
    out = capsys.readouterr().out
    assert (package / "models" / "shapes" / "bundle.yaml").is_file()
    assert "colcon build --packages-select odet_ros" in out
    assert out.rstrip().endswith("ros2 launch odet_ros detect.launch.py model:=shapes")


def test_a_bundle_that_does_not_run_here_is_not_installed(bundle, tmp_path):
    (bundle / "tiny.onnx").write_bytes(b"not an onnx graph")
    models = tmp_path / "models"
    with pytest.raises(DeployError, match=r"shapes-onnx does not run on this machine"):
        deploy(bundle, into=models)
    assert list(models.iterdir()) == []


def test_an_installed_bundle_is_replaced_only_with_force(bundle, tmp_path):
    models = tmp_path / "models"
    deploy(bundle, into=models)
    (bundle / "note.txt").write_text("version 2")
    with pytest.raises(DeployError, match="already exists"):
        deploy(bundle, into=models)
    assert not (models / "shapes-onnx" / "note.txt").exists()
    deploy(bundle, into=models, force=True)
    assert (models / "shapes-onnx" / "note.txt").read_text() == "version 2"
    assert [p.name for p in models.iterdir()] == ["shapes-onnx"]


def test_bad_destinations_and_sources_are_named(bundle, tmp_path):
    with pytest.raises(DeployError, match=r"no odet_ros package at .*src/odet_ros"):
        deploy(bundle, workspace=tmp_path / "empty-ws")
    with pytest.raises(ModelError, match="not a model bundle"):
        deploy(tmp_path, into=tmp_path / "models")


@pytest.mark.skipif(
    importlib.util.find_spec("ament_index_python") is not None, reason="ROS 2 is sourced here"
)
def test_without_ros_a_destination_must_be_given(bundle):
    with pytest.raises(DeployError, match=r"is ROS 2 sourced\?.*--workspace WS"):
        deploy(bundle)
