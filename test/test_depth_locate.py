"""3D positions from boxes and depth, on ray-cast RGB-D scenes of known geometry: a can or a
bottle in front of a wall and a floor, with sensor noise that grows with the square of the
distance, holes, and a pole passing in front."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from odet_ros.bags import make_typestore
from odet_ros.depth import DepthError, Intrinsics, LocateSettings, depth_meters, locate_objects
from odet_ros.detection.instance_masks import InstanceMasks
from odet_ros.imaging import numpy_to_compressed, numpy_to_image
from odet_ros.interfaces import make_header
from odet_ros.sample.depth import Cylinder, Pole, Room, SensorModel, render_depth, to_millimetres

CAMERA = Intrinsics(fx=600.0, fy=600.0, cx=319.5, cy=239.5, width=640, height=480)
REALSENSE = SensorModel(noise=0.0025, holes=0.05)  # ~2.5 mm at 1 m, ~2.3 cm at 3 m
CAN_AT_1M = Cylinder(x=0.10, z=1.0, radius=0.033, top=0.20, bottom=0.32)
BOTTLE_AT_3M = Cylinder(x=-0.30, z=3.0, radius=0.04, top=0.10, bottom=0.40)
TYPESTORE = make_typestore("humble")


def located(obj: Cylinder, room: Room, sensor: SensorModel = REALSENSE, seed: int = 1):
    depth = render_depth(CAMERA, room, sensor, np.random.default_rng(seed))
    result = locate_objects(obj.box(CAMERA)[None], depth, CAMERA)
    return result, np.linalg.norm(result.centers[0] - np.array(obj.center))


@pytest.mark.parametrize("seed", range(5))
def test_within_2_cm_at_1_m(seed):
    result, error = located(CAN_AT_1M, Room(objects=[CAN_AT_1M]), seed=seed)
    assert result.located[0] and error < 0.02
    width, height, _ = result.sizes[0]
    assert width == pytest.approx(0.066, abs=0.01) and height == pytest.approx(0.12, abs=0.015)


@pytest.mark.parametrize("seed", range(5))
def test_within_3_percent_at_3_m(seed):
    result, error = located(BOTTLE_AT_3M, Room(objects=[BOTTLE_AT_3M]), seed=seed)
    assert result.located[0] and error < 0.03 * 3.0


def test_background_close_behind_does_not_pull_the_object_back():
    """A wall 25 cm behind the can fills the box around it; a box median would mix the two."""
    room = Room(wall=1.25, objects=[CAN_AT_1M])
    result, error = located(CAN_AT_1M, room)
    assert error < 0.02


@pytest.mark.parametrize(
    ("x0", "x1", "hidden"), [(0.06, 0.12, "half"), (0.05, 0.10, "three quarters")]
)
def test_an_object_behind_a_pole_is_found_behind_it(x0, x1, hidden):
    """The pole fills much of the box, but it also crosses the ring around the box: not the
    object's surface."""
    clear, _ = located(CAN_AT_1M, Room(objects=[CAN_AT_1M]))
    result, error = located(CAN_AT_1M, Room(objects=[CAN_AT_1M], poles=[Pole(x0, x1, 0.6)]))
    assert result.located[0] and error < 0.02
    assert result.confidence[0] < clear.confidence[0]  # fewer samples saw the can


def test_holes_lower_the_confidence_and_too_many_drop_the_3d_position():
    room = Room(objects=[CAN_AT_1M])
    full, _ = located(CAN_AT_1M, room, SensorModel(noise=0.0025, holes=0.0))
    sparse, error = located(CAN_AT_1M, room, SensorModel(noise=0.0025, holes=0.85))
    assert sparse.located[0] and error < 0.02
    assert sparse.confidence[0] < full.confidence[0] and sparse.support[0] < full.support[0]
    empty, _ = located(CAN_AT_1M, room, SensorModel(noise=0.0025, holes=0.995))
    assert not empty.located[0]
    assert empty.confidence[0] == 0 and empty.support[0] == 0 and np.isnan(empty.centers[0]).all()


def test_each_box_gets_its_own_row():
    near = Cylinder(x=-0.2, z=1.5, radius=0.04, top=0.0, bottom=0.3)
    room = Room(objects=[CAN_AT_1M, near])
    depth = render_depth(CAMERA, room, REALSENSE, np.random.default_rng(3))
    off_image = np.array([[700.0, 10.0, 760.0, 60.0]])  # a box entirely outside the depth
    boxes = np.vstack([CAN_AT_1M.box(CAMERA), off_image, near.box(CAMERA)])
    result = locate_objects(boxes, depth, CAMERA)
    assert result.located.tolist() == [True, False, True]
    assert np.linalg.norm(result.centers[0] - CAN_AT_1M.center) < 0.02
    assert np.linalg.norm(result.centers[2] - near.center) < 0.02
    assert len(locate_objects(np.zeros((0, 4)), depth, CAMERA)) == 0


def test_better_than_the_box_median():
    """What a naive node does: the median depth inside the box, at the box centre."""
    obj = Cylinder(x=0.0, z=1.2, radius=0.05, top=0.0, bottom=0.3)
    room = Room(wall=2.0, objects=[obj])
    depth = render_depth(CAMERA, room, REALSENSE, np.random.default_rng(0))
    x0, y0, x1, y1 = obj.box(CAMERA).astype(int)
    naive = np.nanmedian(depth[y0:y1, x0:x1])
    ours = locate_objects(obj.box(CAMERA)[None], depth, CAMERA).centers[0, 2]
    assert abs(ours - obj.z) < 0.02 < abs(naive - obj.z)


def _image(pixels: np.ndarray, encoding: str):
    header = make_header(TYPESTORE, 0, "camera_color_optical_frame")
    return numpy_to_image(pixels, encoding, header, TYPESTORE.types["sensor_msgs/msg/Image"])


@pytest.mark.parametrize(
    "form", ["16UC1", "32FC1", "compressedDepth 16UC1", "compressedDepth 32FC1"]
)
def test_every_depth_encoding_a_driver_publishes(form):
    exact = render_depth(CAMERA, Room(objects=[CAN_AT_1M]), SensorModel(0.0, 0.1))
    encoding = form.split()[-1]
    pixels = to_millimetres(exact) if encoding == "16UC1" else exact
    if form.startswith("compressedDepth"):
        header = make_header(TYPESTORE, 0, "camera_color_optical_frame")
        cls = TYPESTORE.types["sensor_msgs/msg/CompressedImage"]
        msg = numpy_to_compressed(pixels, header, cls, "compressedDepth", encoding)
    else:
        msg = _image(pixels, encoding)
    meters = depth_meters(msg)
    assert meters.dtype == np.float32 and meters.shape == (480, 640)
    assert np.isnan(meters).mean() == pytest.approx(0.1, abs=0.01)  # holes survive the encoding
    finite = np.isfinite(exact)
    assert np.nanmax(np.abs(meters - exact)[finite]) < (0.0006 if encoding == "16UC1" else 0.01)
    result = locate_objects(CAN_AT_1M.box(CAMERA)[None], meters, CAMERA)
    assert np.linalg.norm(result.centers[0] - CAN_AT_1M.center) < 0.02


def test_a_colour_or_multichannel_image_is_not_depth():
    with pytest.raises(DepthError, match="channels"):
        depth_meters(_image(np.zeros((4, 4, 3), np.uint8), "bgr8"))
    with pytest.raises(DepthError, match="expected 16UC1"):
        depth_meters(_image(np.zeros((4, 4), np.uint8), "mono8"))


def test_a_smaller_depth_image_is_read_through_its_own_camera_model():
    depth_camera = CAMERA.scaled(320, 240)
    depth = render_depth(depth_camera, Room(objects=[CAN_AT_1M]), REALSENSE)
    result = locate_objects(CAN_AT_1M.box(CAMERA)[None], depth, CAMERA, depth_camera)
    assert np.linalg.norm(result.centers[0] - CAN_AT_1M.center) < 0.02
    assert CAMERA.misalignment(depth_camera) is None
    with pytest.raises(DepthError, match="320x240"):
        locate_objects(CAN_AT_1M.box(CAMERA)[None], depth[:200], CAMERA, depth_camera)


def test_an_unaligned_depth_camera_is_named():
    """The infrared camera of an RGB-D sensor: another focal length and principal point."""
    infrared = Intrinsics(fx=390.0, fy=390.0, cx=321.2, cy=236.8, width=640, height=480)
    reason = CAMERA.misalignment(infrared)
    assert reason is not None and "focal lengths differ" in reason
    shifted = Intrinsics(fx=600.0, fy=600.0, cx=330.0, cy=239.5, width=640, height=480)
    assert "principal points differ" in (CAMERA.misalignment(shifted) or "")


def test_camera_info_gives_the_intrinsics_and_refuses_an_uncalibrated_one():
    from odet_ros.camera import CameraCalibration

    header = make_header(TYPESTORE, 0, "camera_color_optical_frame")
    types = (TYPESTORE.types["sensor_msgs/msg/CameraInfo"],
             TYPESTORE.types["sensor_msgs/msg/RegionOfInterest"])  # fmt: skip
    info = CameraCalibration.pinhole(640, 480, 600.0).to_message(header, *types)
    assert Intrinsics.from_camera_info(info) == Intrinsics(600.0, 600.0, 320.0, 240.0, 640, 480)
    assert Intrinsics.from_camera_info(info, rectified=True).fx == 600.0
    uncalibrated = CameraCalibration(640, 480).to_message(header, *types)
    with pytest.raises(DepthError, match="uncalibrated"):
        Intrinsics.from_camera_info(uncalibrated)


def test_settings_are_checked():
    with pytest.raises(DepthError, match="range"):
        LocateSettings(min_range=2.0, max_range=1.0)
    with pytest.raises(DepthError, match="min_pixels"):
        LocateSettings(min_pixels=0)


def _shown(obj: Cylinder, room: Room) -> np.ndarray:
    """The pixels where ``obj`` is the nearest surface: what a perfect instance mask holds."""
    scene = render_depth(CAMERA, room)
    alone = render_depth(CAMERA, Room(wall=1e6, floor=None, objects=[obj]))
    return (alone < 1e5) & (np.abs(scene - alone) < 1e-4)


def _masks(*full: np.ndarray) -> InstanceMasks:
    origins, crops = [], []
    for mask in full:
        rows, columns = np.nonzero(mask)
        origins.append((columns.min(), rows.min()))
        crops.append(mask[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1])
    return InstanceMasks((CAMERA.height, CAMERA.width), np.array(origins), tuple(crops))


@pytest.mark.parametrize("seed", range(4))
def test_masks_sample_the_object_s_own_pixels(seed):
    """Behind a pole hiding three quarters of it and before a wall 25 cm behind: the mask's
    pixels are the can's, and it is found within 2 cm, with more of its samples on it than
    the box's shrunk inside has (its confidence is higher)."""
    room = Room(wall=1.25, objects=[CAN_AT_1M], poles=[Pole(0.05, 0.10, 0.6)])
    depth = render_depth(CAMERA, room, REALSENSE, np.random.default_rng(seed))
    box = CAN_AT_1M.box(CAMERA)[None]
    masks = _masks(_shown(CAN_AT_1M, room))
    from_mask = locate_objects(box, depth, CAMERA, masks=masks)
    from_box = locate_objects(box, depth, CAMERA)
    error = np.linalg.norm(from_mask.centers[0] - CAN_AT_1M.center)
    assert from_mask.located[0] and error < 0.02
    assert from_mask.confidence[0] > from_box.confidence[0]
    grown = _masks(cv2.dilate(_shown(CAN_AT_1M, room).astype(np.uint8), np.ones((5, 5))) > 0)
    spilling = locate_objects(box, depth, CAMERA, masks=grown)  # 2 px over the can's edges
    assert np.linalg.norm(spilling.centers[0] - CAN_AT_1M.center) < 0.02
    with pytest.raises(DepthError, match="2 masks for 1 boxes"):
        locate_objects(box, depth, CAMERA, masks=_masks(_shown(CAN_AT_1M, room), grown.full(0)))
