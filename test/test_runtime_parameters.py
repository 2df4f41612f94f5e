"""The nodes' parameter tables and what their values mean, without ROS: defaults read off the
core's settings (so a node, a params file and an `odet` flag agree), choices refused by name, and
a parameter change applied to a loaded model."""

from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from odet_ros.bags import make_typestore
from odet_ros.capture import DEFAULT_SAMPLING
from odet_ros.depth import DepthOptions, LocateSettings
from odet_ros.detection.backends import BACKEND_CHOICES
from odet_ros.detection.detector import DetectionSettings
from odet_ros.detection.errors import SettingError
from odet_ros.messages import VisionMsgClasses
from odet_ros.runtime.camera_parameters import CAMERA_PARAMETERS
from odet_ros.runtime.cameras import cameras
from odet_ros.runtime.capture_parameters import (
    CAPTURE_PARAMETERS,
    sampler_settings,
    session_settings,
)
from odet_ros.runtime.detector_parameters import (
    DETECTOR_PARAMETERS,
    depth_options,
    frame_detectors,
    load_model,
    model_summary,
    retune,
)
from odet_ros.runtime.errors import ParameterError
from odet_ros.runtime.parameters import check_choices, spec, table
from odet_ros.selection import DEFAULT_SELECTION, SelectionSettings

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "test" / "data" / "brightness_model.onnx"
TABLES = {"detector": DETECTOR_PARAMETERS, "capture": CAPTURE_PARAMETERS,
          "camera": CAMERA_PARAMETERS}  # fmt: skip


def _defaults(parameters) -> dict:
    return {name: p.default for name, p in parameters.items()}


def test_defaults_are_the_cores_settings():
    detector = _defaults(DETECTOR_PARAMETERS)
    assert (detector["iou_threshold"], detector["max_detections"]) == (
        DetectionSettings.iou, DetectionSettings.max_det)  # fmt: skip
    assert detector["conf_threshold"] < 0  # the model's own threshold
    assert depth_options({**detector, "depth_topic": "/d"}) == DepthOptions("/d")
    capture = _defaults(CAPTURE_PARAMETERS)
    assert sampler_settings(capture) == DEFAULT_SAMPLING
    assert SelectionSettings.from_values({**capture, "select": "all"}) == DEFAULT_SELECTION
    session = session_settings(capture, "jazzy")
    assert (session.distro, session.output_dir) == ("jazzy", Path("~/odet_captures").expanduser())
    assert session_settings(capture, "rolling").distro == "humble"  # a layout later ones read


def test_every_default_is_within_its_range_and_choices():
    for node, parameters in TABLES.items():
        for p in parameters.values():
            if p.low is not None and isinstance(p.default, (int, float)):
                assert p.low <= p.default <= p.high, (node, p.name)
            if p.choices:
                assert p.default in p.choices, (node, p.name)
        check_choices(parameters, _defaults(parameters))


def test_the_shipped_params_files_hold_the_defaults():
    """config/*.yaml document the defaults: a changed default without its file is caught (the
    camera's params file names a first camera, where the node has no default source)."""
    for node, config in (("detector", "detector.yaml"), ("capture", "capture.yaml"),
                         ("camera", "camera.yaml")):  # fmt: skip
        document = yaml.safe_load((ROOT / "config" / config).read_text())
        written = document["/**"]["ros__parameters"]
        defaults = _defaults(TABLES[node])
        for name, value in written.items():
            if (config, name) != ("camera.yaml", "source"):
                assert value == defaults[name], (config, name)


@pytest.mark.parametrize(
    ("name", "value"),
    [("backend", "tensorflow"), ("image_transport", "theora"), ("qos_reliability", "sometimes"),
     ("class_id_format", "number"), ("tracker", "sort")],
)  # fmt: skip
def test_a_value_outside_the_choices_names_the_parameter(name, value):
    with pytest.raises(ParameterError, match=f"parameter {name} must be one of .*{value}"):
        check_choices(DETECTOR_PARAMETERS, {name: value})
    check_choices(DETECTOR_PARAMETERS, {"conf_threshold": 0.3, "model": "anything"})


def test_every_backend_the_loader_takes_is_a_choice():
    assert set(DETECTOR_PARAMETERS["backend"].choices) == {"auto", *BACKEND_CHOICES}


def test_a_parameter_declared_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        table(spec("a", 1, "x"), spec("a", 2, "y"))


def test_an_empty_model_is_named():
    with pytest.raises(ParameterError, match="parameter model is empty"):
        load_model(_defaults(DETECTOR_PARAMETERS))


@pytest.fixture
def frames():
    pytest.importorskip("onnxruntime")
    values = {**_defaults(DETECTOR_PARAMETERS), "model": str(MODEL)}
    typestore = make_typestore()
    vision = VisionMsgClasses.from_typestore(typestore)
    image = typestore.types["sensor_msgs/msg/Image"]
    return frame_detectors(values, vision, image, ["/front/image_raw", "/rear/image_raw"]), values


def test_one_model_serves_every_camera_each_with_its_own_tracker(frames):
    pytest.importorskip("supervision")
    loaded, values = frames
    front, rear = loaded.values()
    assert front.detector is rear.detector
    retune(loaded, {**values, "tracker": "bytetrack"}, {"tracker"})
    assert front.tracker is not None and front.tracker is not rear.tracker


def test_retune_applies_thresholds_classes_and_format_to_the_loaded_model(frames):
    loaded, values = frames
    changed = {**values, "conf_threshold": 0.6, "classes": ["never"], "class_id_format": "name"}
    same = retune(loaded, changed, {"conf_threshold", "classes", "class_id_format"})
    assert same is loaded
    for camera_frames in loaded.values():
        detector = camera_frames.detector
        assert detector.settings.conf == 0.6 and detector.settings.classes == (1,)
        assert camera_frames.class_id_format == "name"


def test_retune_refuses_an_unknown_class_before_changing_anything(frames):
    loaded, values = frames
    detector = loaded["/front/image_raw"].detector
    before = detector.settings
    with pytest.raises(SettingError, match="cat"):
        retune(loaded, {**values, "conf_threshold": 0.9, "classes": ["cat"]}, {"classes"})
    assert detector.settings == before


def test_the_tracker_restarts_only_when_its_settings_change(frames):
    pytest.importorskip("supervision")
    loaded, values = frames
    tracked = {**values, "tracker": "bytetrack"}
    front = loaded["/front/image_raw"]
    retune(loaded, tracked, {"tracker"})
    first = front.tracker
    retune(loaded, {**tracked, "iou_threshold": 0.5}, {"iou_threshold"})
    assert front.tracker is first
    retune(loaded, {**tracked, "conf_threshold": 0.4}, {"conf_threshold"})
    assert front.tracker is not first


def test_locate_settings_come_through_with_their_checks():
    values = {**_defaults(DETECTOR_PARAMETERS), "depth_topic": "d", "depth_min_range": 2.0,
              "depth_max_range": 1.0}  # fmt: skip
    with pytest.raises(Exception, match="depth range"):
        depth_options(values)
    assert {f.name for f in fields(LocateSettings)} >= {"min_range", "max_range", "min_pixels"}


def _resolve(topic: str) -> str:
    return topic if topic.startswith("/") else f"/robot1/{topic}"


def test_without_image_topics_one_camera_publishes_under_the_node():
    (camera,) = cameras([], [], _resolve, single=("/robot1/image", ""))
    assert (camera.topic, camera.output("detections")) == ("/robot1/image", "detections")


def test_each_cameras_outputs_go_beside_its_image_topic():
    found = cameras(
        ["/front/image_raw", "rear/image_raw/compressed"], ["/front/depth", ""], _resolve,
        single=("/robot1/image", ""),
    )  # fmt: skip
    front, rear = found
    assert front.output("detections") == "/front/detections" and front.depth_topic == "/front/depth"
    assert rear.topic == "/robot1/rear/image_raw/compressed" and rear.compressed
    assert rear.output("image_annotated") == "/robot1/rear/image_annotated"
    assert rear.depth_topic == ""


@pytest.mark.parametrize(
    ("image_topics", "depth_topics", "single_depth", "named"),
    [
        (["/a/image_raw", "/b/image_raw"], ["/a/depth"], "", "depth_topics has 1 entries"),
        (["/a/image_raw", "/a/image_raw/compressed"], [], "", "same /a/detections"),
        (["/a/image_raw"], [], "/d", "not depth_topic"),
        ([], ["/a/depth"], "", "depth_topics needs image_topics"),
    ],
)
def test_cameras_that_do_not_fit_are_named(image_topics, depth_topics, single_depth, named):
    with pytest.raises(ParameterError, match=named):
        cameras(image_topics, depth_topics, _resolve, single=("/robot1/image", single_depth))


def test_the_default_threshold_is_the_models_own_and_a_given_one_overrides_it(tmp_path):
    """A bundle that records its best-F1 confidence (odet train/export) runs at it by default."""
    import shutil

    pytest.importorskip("onnxruntime")
    bundle = tmp_path / "bright"
    bundle.mkdir()
    shutil.copy(MODEL, bundle / "bright.onnx")
    document = {"model": "bright.onnx", "names": ["bright", "never"],
                "scores": {"best_f1_conf": 0.4349}}  # fmt: skip
    (bundle / "bundle.yaml").write_text(yaml.safe_dump(document))
    values = {**_defaults(DETECTOR_PARAMETERS), "model": str(bundle)}
    own = load_model(values)
    assert own.settings.conf == 0.43  # rounded to 2 decimals
    given = {**values, "conf_threshold": 0.6}
    assert load_model(given).settings.conf == 0.6
    bare = {**values, "model": str(MODEL)}
    assert load_model(bare).settings.conf == DetectionSettings.conf
    # the line the node logs says which threshold runs and why
    assert model_summary(own, values).endswith(
        "2 classes (bright, never), score threshold 0.43 (the model's best-F1 confidence)"
    )
    assert model_summary(load_model(given), given).endswith("0.6 (conf_threshold)")
    assert model_summary(load_model(bare), bare).endswith(
        "score threshold 0.25 (the default: the model records no best-F1 confidence)"
    )
