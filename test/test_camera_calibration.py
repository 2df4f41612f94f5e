"""camera_calibration / camera_info_manager YAML files into CameraInfo fields."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from support.calibration import OST_YAML

from odet_ros.camera import CameraCalibration, load_calibration, resolve_calibration_url
from odet_ros.errors import OdetError


@pytest.fixture
def ost(tmp_path: Path) -> Path:
    path = tmp_path / "ost.yaml"
    path.write_text(OST_YAML)
    return path


def test_ost_yaml_parses_into_camera_info_fields(ost: Path):
    calibration = load_calibration(ost)
    assert (calibration.width, calibration.height) == (640, 480)
    assert calibration.camera_name == "narrow_stereo"
    assert calibration.distortion_model == "plumb_bob"
    assert calibration.k == (615.12, 0.0, 321.8, 0.0, 616.4, 238.2, 0.0, 0.0, 1.0)
    assert calibration.d == (0.1108, -0.2337, 0.0012, -0.0009, 0.0)
    assert calibration.r == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    assert len(calibration.p) == 12 and calibration.p[0] == 620.5 and calibration.p[6] == 237.6


def test_rational_polynomial_has_eight_coefficients(tmp_path: Path):
    text = OST_YAML.replace("plumb_bob", "rational_polynomial").replace(
        "cols: 5\n  data: [0.1108, -0.2337, 0.0012, -0.0009, 0.]",
        "cols: 8\n  data: [1, 2, 3, 4, 5, 6, 7, 8]",
    )
    path = tmp_path / "rational.yaml"
    path.write_text(text)
    calibration = load_calibration(path)
    assert calibration.distortion_model == "rational_polynomial"
    assert calibration.d == tuple(float(v) for v in range(1, 9))


def test_missing_distortion_model_defaults_to_plumb_bob(tmp_path: Path):
    path = tmp_path / "old.yaml"
    path.write_text(OST_YAML.replace("distortion_model: plumb_bob\n", ""))
    assert load_calibration(path).distortion_model == "plumb_bob"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("image_width: 640", "image_width: -1"), "image_width"),
        (("image_height: 480\n", ""), "image_height"),
        (("data: [615.12, 0., 321.8,", "data: [0., 321.8,"), "camera_matrix must be 3x3"),
        (("rows: 3\n  cols: 4", "rows: 4\n  cols: 3"), "projection_matrix"),
        (("data: [1., 0., 0.,", "data: [x, 0., 0.,"), "rectification_matrix holds a non-number"),
        (("[0.1108,", "[.nan,"), "distortion_coefficients holds a non-finite"),
    ],
)
def test_malformed_calibration_names_file_and_field(tmp_path: Path, change, message):
    path = tmp_path / "bad.yaml"
    path.write_text(OST_YAML.replace(*change))
    with pytest.raises(OdetError, match=message) as error:
        load_calibration(path)
    assert "bad.yaml" in str(error.value)


def test_unreadable_or_non_yaml_files_are_clear_errors(tmp_path: Path):
    with pytest.raises(OdetError, match=r"cannot read camera calibration .*missing\.yaml"):
        load_calibration(tmp_path / "missing.yaml")
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(OdetError, match="not a YAML mapping"):
        load_calibration(path)
    path.write_text("image_width: [unclosed\n")
    with pytest.raises(OdetError, match="not valid YAML"):
        load_calibration(path)


def test_calibration_urls(ost: Path):
    assert resolve_calibration_url(f"file://{ost}") == ost
    assert resolve_calibration_url(str(ost)) == ost
    with pytest.raises(OdetError, match="only file://"):
        resolve_calibration_url("http://example.com/ost.yaml")


def test_unresolvable_package_url_is_a_clear_error():
    """Without ROS it cannot resolve at all; with ROS the package does not exist."""
    with pytest.raises(OdetError, match="no_such_package_xyz"):
        resolve_calibration_url("package://no_such_package_xyz/config/ost.yaml")


def test_calibration_from_a_camera_info_message(ost: Path):
    calibration = load_calibration(ost)
    roi = SimpleNamespace(x_offset=1, y_offset=2, height=3, width=4, do_rectify=True)
    msg = SimpleNamespace(
        width=640,
        height=480,
        distortion_model="plumb_bob",
        d=list(calibration.d),
        k=list(calibration.k),
        r=list(calibration.r),
        p=list(calibration.p),
        binning_x=2,
        binning_y=2,
        roi=roi,
    )
    from_msg = CameraCalibration.from_message(msg)
    assert (from_msg.k, from_msg.d, from_msg.p) == (calibration.k, calibration.d, calibration.p)
    assert from_msg.roi.do_rectify and from_msg.binning_x == 2


def test_to_message_and_back_keep_every_field():
    from odet_ros.bags import make_typestore
    from odet_ros.interfaces import make_header

    typestore = make_typestore("humble")
    calibration = CameraCalibration.pinhole(640, 480, focal=500.0)
    header = make_header(typestore, 42, "camera_optical_frame")
    msg = calibration.to_message(
        header,
        typestore.types["sensor_msgs/msg/CameraInfo"],
        typestore.types["sensor_msgs/msg/RegionOfInterest"],
    )
    serialized = typestore.serialize_cdr(msg, "sensor_msgs/msg/CameraInfo")
    read = typestore.deserialize_cdr(serialized, "sensor_msgs/msg/CameraInfo")
    assert CameraCalibration.from_message(read) == calibration
    assert read.header.frame_id == "camera_optical_frame"
    assert (read.k[0], read.k[2], read.k[5], read.p[10]) == (500.0, 320.0, 240.0, 1.0)
