"""Bad models, bad settings and what each backend imports."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from dataclasses import replace

import cv2
import numpy as np
import pytest

from odet_ros.detection import DetectionSettings, ModelError, SettingError, load_detector
from odet_ros.errors import OdetError


def test_missing_model_names_the_path(tmp_path):
    with pytest.raises(ModelError, match=re.escape(f"{tmp_path / 'nope.onnx'}: no such file")):
        load_detector(tmp_path / "nope.onnx")


@pytest.mark.parametrize("suffix", [".onnx", ".tflite", ".pt"])
def test_corrupt_model_names_the_file(tmp_path, suffix):
    if suffix == ".pt":
        pytest.importorskip("ultralytics")
    corrupt = tmp_path / f"corrupt{suffix}"
    corrupt.write_bytes(b"\x00not a model\xff" * 64)
    with pytest.raises(ModelError, match=re.escape(str(corrupt))):
        load_detector(corrupt)


def test_unknown_suffix_and_backend_are_reported(tmp_path):
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"x")
    with pytest.raises(ModelError, match=re.escape("unknown model type .bin")):
        load_detector(weights)
    with pytest.raises(SettingError, match="backend must be one of"):
        load_detector(weights, backend="caffe")


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here"
)
def test_engine_without_tensorrt_says_what_is_missing(tmp_path):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    with pytest.raises(ModelError, match=f"{engine}: the TensorRT backend needs the tensorrt"):
        load_detector(engine)


@pytest.mark.slow
def test_settings_are_validated_by_name(tiny_models):
    for bad, name in [({"conf": 1.5}, "conf"), ({"iou": -0.1}, "iou"), ({"max_det": 0}, "max_det")]:
        with pytest.raises(SettingError, match=f"^{name} must"):
            DetectionSettings(**bad)
    detector = load_detector(tiny_models.model("tiny.onnx"))
    with pytest.raises(SettingError, match=r"classes \[7\] out of range: the model has 3 classes"):
        detector.settings = replace(detector.settings, classes=(0, 7))
    with pytest.raises(SettingError, match="unknown class 'hexagon'"):
        detector.class_ids(["hexagon"])
    with pytest.raises(
        SettingError, match=r"imgsz 320x320 cannot apply: .*tiny\.onnx has a fixed input of 160x160"
    ):
        load_detector(tiny_models.model("tiny.onnx"), imgsz=320)
    with pytest.raises(SettingError, match="device must be cpu, cuda or cuda:N"):
        load_detector(tiny_models.model("tiny.onnx"), device="gpu0")
    assert issubclass(SettingError, OdetError) and issubclass(ModelError, OdetError)


@pytest.mark.slow
def test_settings_change_between_frames(tiny_models):
    detector = load_detector(tiny_models.model("tiny.onnx"), conf=0.1)
    image = cv2.imread(str(tiny_models.images[4]))
    everything = detector.detect(image)
    assert len(set(everything.class_ids.tolist())) > 1
    keep = int(everything.class_ids[0])
    detector.settings = replace(
        detector.settings, classes=detector.class_ids([tiny_models.names[keep]])
    )
    only = detector.detect(image)
    assert len(only) and set(only.class_ids.tolist()) == {keep}
    detector.settings = replace(detector.settings, classes=None, max_det=1)
    assert len(detector.detect(image)) == 1
    detector.settings = replace(detector.settings, max_det=300, conf=float(everything.scores.max()))
    assert len(detector.detect(image)) == 0


@pytest.mark.slow
def test_empty_image_is_rejected(tiny_models):
    detector = load_detector(tiny_models.model("tiny.onnx"))
    with pytest.raises(ValueError, match="empty image"):
        detector.detect(np.zeros((0, 10, 3), np.uint8))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tiny.onnx", "tiny.tflite"])
def test_onnx_and_tflite_never_import_torch_or_ultralytics(tiny_models, name):
    script = (
        "import sys, numpy as np\n"
        "from odet_ros.detection import load_detector\n"
        f"detector = load_detector({str(tiny_models.model(name))!r})\n"
        "detector.detect(np.zeros((120, 200, 3), np.uint8))\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'torch', 'ultralytics', 'tensorflow'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
