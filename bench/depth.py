"""The 3D step's cost and accuracy, against the 2D detection and a naive per-box median.

A 640x480 RGB-D frame with 20 objects (cylinders in front of a wall and a floor, RealSense-like
noise and holes, a pole in front of some), ray-cast by :mod:`odet_ros.sample.depth`; the boxes
are the objects' true boxes. Figures:

- ``depth_step_ms``: the node's 3D step per frame (:class:`DepthStep`: the 16UC1 message read,
  the 20 boxes located, the Detection3DArray built); ``depth_step_with_markers_ms`` adds the
  MarkerArray (built only while rviz subscribes).
- ``detection_2d_ms``: the node's 2D step on the same frame (:class:`FrameDetector`: Image to
  Detection2DArray) with a YOLO11n ONNX at 320 (untrained: speed does not depend on weights).
- ``depth_step_share_of_2d``: the first over the second. Target <= 0.05.
- ``locate_ms`` / ``naive_median_ms`` / ``locate_time_vs_naive``: locating the 20 boxes against
  the naive way (the median depth in each box, at the box centre), one box at a time.
- ``median_error_cm`` / ``naive_median_error_cm`` (and ``p90``): distance of each estimate from
  the object's true centre, over 10 frames, for the objects at least half visible (the others,
  hidden behind nearer ones or a pole, have no surface to find).
- ``mask_median_error_cm`` (and ``p90``): the same objects located from the pixels they show (a
  segmentation model's masks; here the exact ones), and ``mask_grown_median_error_cm`` from
  those masks grown by 2 pixels all round (a mask spilling over its object's edge, as a model's
  does); ``locate_masks_ms``: the 20 objects located from masks; ``depth_step_masks_ms`` (and
  its share of the 2D step): the node's 3D step when the detections carry masks.

Run: ``.venv/bin/python bench/depth.py`` (about 30 s on 2 cores; it exports its ONNX model with
Ultralytics the first time, into ``.cache/bench-depth/``).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from odet_ros.bags import make_typestore
from odet_ros.camera import CameraCalibration
from odet_ros.depth import Intrinsics, depth_meters, locate_objects
from odet_ros.detection import load_detector
from odet_ros.detection.instance_masks import InstanceMasks
from odet_ros.detection.types import Detections
from odet_ros.imaging import numpy_to_image
from odet_ros.interfaces import make_header
from odet_ros.messages import VisionMsgClasses
from odet_ros.messages.spatial import SpatialMsgClasses
from odet_ros.runtime.depth_step import DepthStep
from odet_ros.runtime.frame_detector import FrameDetector
from odet_ros.sample.depth import Cylinder, Pole, Room, SensorModel, render_depth, to_millimetres

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench-depth"
CAMERA = Intrinsics(fx=600.0, fy=600.0, cx=320.0, cy=240.0, width=640, height=480)
OBJECTS = 20
FRAMES = 10
REPEATS = 30
SENSOR = SensorModel(noise=0.0025, holes=0.05)


def scene(seed: int) -> tuple[Room, list[Cylinder]]:
    """20 standing objects, 0.8-4 m away, spread across the view, two poles in front."""
    rng = np.random.default_rng(seed)
    objects = []
    depths, across = rng.uniform(0.8, 4.0, OBJECTS), rng.uniform(-0.42, 0.42, OBJECTS)
    for depth, side in zip(depths, across, strict=True):
        radius = float(rng.uniform(0.03, 0.06))
        height = float(rng.uniform(0.1, 0.3))
        objects.append(Cylinder(float(side * depth), float(depth), radius, 0.3 - height, 0.3))
    poles = [Pole(-0.25, -0.18, 0.6), Pole(0.2, 0.26, 0.7)]
    return Room(wall=5.0, floor=0.3, objects=objects, poles=poles), objects


def visible(room: Room, objects: list[Cylinder]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The share of each object's silhouette where it is the nearest surface, and those
    pixels (what a perfect instance mask holds)."""
    scene_depth = render_depth(CAMERA, room)
    shares, shown = [], []
    for obj in objects:
        alone = render_depth(CAMERA, Room(wall=1e6, floor=None, objects=[obj]))
        silhouette = alone < 1e5
        seen = silhouette & (np.abs(scene_depth - alone) < 1e-4)
        shares.append(seen.sum() / max(silhouette.sum(), 1))
        shown.append(seen)
    return np.array(shares), shown


def instance_masks(full: list[np.ndarray], grow: int = 0) -> InstanceMasks:
    """Whole-frame masks as the detector keeps them (crops at their bounds), grown by ``grow``
    pixels."""
    origins, crops = [], []
    for pixels in full:
        mask = cv2.dilate(pixels.astype(np.uint8), np.ones((2 * grow + 1,) * 2)) > 0
        rows, columns = np.nonzero(mask)
        if not len(rows):  # wholly hidden
            origins.append((0, 0))
            crops.append(np.zeros((1, 1), bool))
            continue
        y0, x0 = rows.min(), columns.min()
        origins.append((x0, y0))
        crops.append(mask[y0 : rows.max() + 1, x0 : columns.max() + 1])
    return InstanceMasks((CAMERA.height, CAMERA.width), np.array(origins), tuple(crops))


def onnx_model() -> Path:
    model = CACHE / "yolo11n_320.onnx"
    if model.exists():
        return model
    from odet_ros.ultralytics_env import import_ultralytics

    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        yolo = import_ultralytics().YOLO("yolo11n.yaml")
        yolo.save(str(Path(folder) / "m.pt"))
        exported = (
            import_ultralytics()
            .YOLO(str(Path(folder) / "m.pt"))
            .export(format="onnx", imgsz=320, verbose=False)
        )
        shutil.move(exported, model)
    return model


def median_ms(run: Callable[[], object], repeats: int = REPEATS) -> float:
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def naive(boxes: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The median depth inside each box, back-projected at the box centre."""
    centers = []
    for x0, y0, x1, y1 in boxes.astype(int):
        z = float(np.nanmedian(depth[y0:y1, x0:x1]))
        centers.append(
            CAMERA.back_project(np.array((x0 + x1) / 2), np.array((y0 + y1) / 2), np.array(z))
        )
    return np.array(centers)


def main() -> None:
    typestore = make_typestore("humble")
    image_type = typestore.types["sensor_msgs/msg/Image"]
    header = make_header(typestore, 0, "camera_color_optical_frame")
    room, objects = scene(0)
    exact = render_depth(CAMERA, room, SENSOR, np.random.default_rng(0))
    boxes = np.array([o.box(CAMERA) for o in objects])
    detections = Detections.from_arrays(boxes, np.full(OBJECTS, 0.9), np.zeros(OBJECTS, np.int64))
    depth_msg = numpy_to_image(to_millimetres(exact), "16UC1", header, image_type)
    meters = depth_meters(depth_msg)

    step = DepthStep(SpatialMsgClasses.from_typestore(typestore))
    info_types = (typestore.types["sensor_msgs/msg/CameraInfo"],
                  typestore.types["sensor_msgs/msg/RegionOfInterest"])  # fmt: skip
    step.set_camera_info(CameraCalibration.pinhole(640, 480, 600.0).to_message(header, *info_types))
    names = ["object"]
    depth_ms = median_ms(lambda: step.process(detections, names, header, depth_msg))
    markers_ms = median_ms(lambda: step.process(detections, names, header, depth_msg).markers())
    locate_ms = median_ms(lambda: locate_objects(boxes, meters, CAMERA))
    every_mask = instance_masks(visible(room, objects)[1])
    masks_ms = median_ms(lambda: locate_objects(boxes, meters, CAMERA, masks=every_mask))
    with_masks = Detections.from_arrays(
        boxes, np.full(OBJECTS, 0.9), np.zeros(OBJECTS, np.int64), masks=every_mask
    )
    depth_masks_ms = median_ms(lambda: step.process(with_masks, names, header, depth_msg))
    naive_ms = median_ms(lambda: naive(boxes, meters))

    print("exporting / loading the 2D model", file=sys.stderr)
    frames = FrameDetector(
        load_detector(onnx_model()), VisionMsgClasses.from_typestore(typestore), image_type
    )
    colour = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    image = numpy_to_image(colour, "bgr8", header, image_type)
    detect_ms = median_ms(lambda: frames.process(image))

    ours, theirs, masked, grown = [], [], [], []
    for seed in range(FRAMES):
        room, objects = scene(seed)
        frame = render_depth(CAMERA, room, SENSOR, np.random.default_rng(seed))
        shares, pixels = visible(room, objects)
        shown = shares >= 0.5
        truth = np.array([o.center for o in objects])[shown]
        frame_boxes = np.array([o.box(CAMERA) for o in objects])[shown]
        located = locate_objects(frame_boxes, frame, CAMERA)
        ours += np.linalg.norm(located.centers - truth, axis=1).tolist()
        theirs += np.linalg.norm(naive(frame_boxes, frame) - truth, axis=1).tolist()
        exact = instance_masks([p for p, s in zip(pixels, shown, strict=True) if s])
        from_masks = locate_objects(frame_boxes, frame, CAMERA, masks=exact)
        masked += np.linalg.norm(from_masks.centers - truth, axis=1).tolist()
        spilling = instance_masks([p for p, s in zip(pixels, shown, strict=True) if s], grow=2)
        from_grown = locate_objects(frame_boxes, frame, CAMERA, masks=spilling)
        grown += np.linalg.norm(from_grown.centers - truth, axis=1).tolist()

    figures = {
        "depth_step_ms": depth_ms,
        "depth_step_with_markers_ms": markers_ms,
        "detection_2d_ms": detect_ms,
        "depth_step_share_of_2d": depth_ms / detect_ms,
        "depth_step_masks_ms": depth_masks_ms,
        "depth_step_masks_share_of_2d": depth_masks_ms / detect_ms,
        "locate_ms": locate_ms,
        "naive_median_ms": naive_ms,
        "locate_time_vs_naive": locate_ms / naive_ms,
        "median_error_cm": 100 * float(np.nanmedian(ours)),
        "p90_error_cm": 100 * float(np.nanpercentile(ours, 90)),
        "naive_median_error_cm": 100 * float(np.nanmedian(theirs)),
        "naive_p90_error_cm": 100 * float(np.nanpercentile(theirs, 90)),
        "locate_masks_ms": masks_ms,
        "mask_median_error_cm": 100 * float(np.nanmedian(masked)),
        "mask_p90_error_cm": 100 * float(np.nanpercentile(masked, 90)),
        "mask_grown_median_error_cm": 100 * float(np.nanmedian(grown)),
        "mask_grown_p90_error_cm": 100 * float(np.nanpercentile(grown, 90)),
        "mask_located_share": float(np.isfinite(masked).mean() if masked else 0),
        "box_located_share": float(np.isfinite(ours).mean() if ours else 0),
    }
    for name, value in figures.items():
        print(f"{name}: {value:.3f}")


if __name__ == "__main__":
    main()
