"""Write the sample as a real rosbag2 (mcap) plus its ground truth as a COCO label export.

The ground truth stands in for the human labelling step: a box per object (the whole object,
also where something hides part of it) and its outline (``segmentation``: the polygons of the
pixels it shows, traced from the frame's instance masks). Its images are named with
:func:`odet_ros.dataset.naming.frame_stem` for every image topic, so `odet dataset import`
matches boxes to whichever frames `odet bag export` kept, by topic and stamp.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from odet_ros.atomic import staged_folder, write_text_atomic
from odet_ros.bags import BagWriter, make_typestore
from odet_ros.camera.calibration import CameraCalibration
from odet_ros.dataset.naming import frame_stem
from odet_ros.imaging import numpy_to_compressed, numpy_to_image
from odet_ros.interfaces import make_header
from odet_ros.labels.polygons import Polygon, mask_parts
from odet_ros.sample.depth import SensorModel, render_depth, to_millimetres
from odet_ros.sample.objects import CLASS_NAMES
from odet_ros.sample.scene import Frame, SampleConfig, generate_frames

IMAGE_TOPIC = "/camera/image_raw"
COMPRESSED_TOPIC = "/camera/image_raw/compressed"
INFO_TOPIC = "/camera/camera_info"
# depth aligned to colour, as a RealSense driver names it: 16UC1 millimetres in the colour frame
DEPTH_TOPIC = "/camera/aligned_depth_to_color/image_raw"
DEPTH_INFO_TOPIC = "/camera/aligned_depth_to_color/camera_info"
FRAME_ID = "camera_optical_frame"
LABELS_FILE = "labels_coco.json"
GROUND_TRUTH_3D_FILE = "ground_truth_3d.json"
# an RGB-D camera's depth: noise of 2.5 mm x (z / 1 m)^2, 2% of pixels without a reading
SENSOR = SensorModel(noise=0.0025, holes=0.02)


@dataclass(frozen=True)
class SampleRecording:
    """Where the sample went and what it holds."""

    bag: Path
    labels: Path
    ground_truth_3d: Path
    frames: int
    boxes: int


def write_sample(
    out_dir: Path, config: SampleConfig | None = None, progress: bool = True
) -> SampleRecording:
    """Render the sample into ``out_dir/<bag>``, ``out_dir/labels_coco.json`` and
    ``out_dir/ground_truth_3d.json`` (per frame stamp, each box's object: class, centre and
    size in metres, in the camera's optical frame)."""
    config = config or SampleConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bag_path = out_dir / "sample_bag"
    typestore = make_typestore("humble")
    image_type = typestore.types["sensor_msgs/msg/Image"]
    compressed_type = typestore.types["sensor_msgs/msg/CompressedImage"]
    images: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    total = config.segments * config.frames_per_segment
    truth_3d: list[dict[str, object]] = []
    depth_rng = np.random.default_rng(config.seed + 1)  # apart from the colour's: same frames
    info_types = (
        typestore.types["sensor_msgs/msg/CameraInfo"],
        typestore.types["sensor_msgs/msg/RegionOfInterest"],
    )
    with (
        staged_folder(bag_path, replace=True, named=True) as staged,
        BagWriter(staged, distro="humble") as writer,
    ):
        writer.add_topic(IMAGE_TOPIC, "sensor_msgs/msg/Image")
        writer.add_topic(COMPRESSED_TOPIC, "sensor_msgs/msg/CompressedImage")
        writer.add_topic(INFO_TOPIC, "sensor_msgs/msg/CameraInfo")
        writer.add_topic(DEPTH_TOPIC, "sensor_msgs/msg/Image")
        writer.add_topic(DEPTH_INFO_TOPIC, "sensor_msgs/msg/CameraInfo")
        frames = generate_frames(config)
        for frame in tqdm(frames, total=total, desc="sample", unit="frame", disable=not progress):
            header = make_header(typestore, frame.stamp_ns, FRAME_ID)
            image = numpy_to_image(frame.image, "bgr8", header, image_type)
            compressed = numpy_to_compressed(frame.image, header, compressed_type, quality=92)
            writer.write(IMAGE_TOPIC, frame.stamp_ns, image)
            writer.write(COMPRESSED_TOPIC, frame.stamp_ns, compressed)
            # the zoom is a focal length: the CameraInfo follows it
            calibration = CameraCalibration.pinhole(config.width, config.height, frame.camera.fx)
            info = calibration.to_message(header, *info_types)
            writer.write(INFO_TOPIC, frame.stamp_ns, info)
            depth = to_millimetres(render_depth(frame.camera, frame.room, SENSOR, depth_rng))
            writer.write(
                DEPTH_TOPIC, frame.stamp_ns, numpy_to_image(depth, "16UC1", header, image_type)
            )
            writer.write(DEPTH_INFO_TOPIC, frame.stamp_ns, info)
            truth_3d.append(_ground_truth_3d(frame))
            outlines = frame_outlines(frame)
            for topic in (IMAGE_TOPIC, COMPRESSED_TOPIC):
                stem = frame_stem(bag_path.name, topic, frame.stamp_ns)
                _add_coco_image(images, annotations, stem, frame, outlines)
    labels = out_dir / LABELS_FILE
    coco = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": n} for i, n in enumerate(CLASS_NAMES)],
        "info": {"description": "odet sample ground truth", "config": asdict(config)},
    }
    write_text_atomic(labels, json.dumps(coco))
    ground_truth_3d = out_dir / GROUND_TRUTH_3D_FILE
    write_text_atomic(ground_truth_3d, json.dumps({"topic": IMAGE_TOPIC, "frames": truth_3d}))
    return SampleRecording(bag_path, labels, ground_truth_3d, total, len(annotations) // 2)


def _ground_truth_3d(frame: Frame) -> dict[str, object]:
    objects = [
        {
            "class_id": class_id,
            "box": [round(v, 2) for v in box],
            "position_m": [round(v, 4) for v in obj.center],
            "size_m": [
                round(2 * obj.radius, 4),
                round(obj.bottom - obj.top, 4),
                round(2 * obj.radius, 4),
            ],
        }
        for box, class_id, obj in zip(
            frame.boxes.tolist(), frame.class_ids.tolist(), frame.objects, strict=True
        )
    ]
    return {"stamp_ns": frame.stamp_ns, "objects": objects}


def _add_coco_image(
    images: list[dict[str, object]],
    annotations: list[dict[str, object]],
    stem: str,
    frame: Frame,
    outlines: list[list[Polygon]],
) -> None:
    image_id = len(images) + 1
    height, width = frame.image.shape[:2]
    images.append({"id": image_id, "file_name": f"{stem}.jpg", "width": width, "height": height})
    for index, (box, class_id, parts) in enumerate(
        zip(frame.boxes.tolist(), frame.class_ids.tolist(), outlines, strict=True)
    ):
        x0, y0, x1, y1 = box
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": class_id,
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "area": int((frame.masks == index + 1).sum()) if parts else (x1 - x0) * (y1 - y0),
                "iscrowd": 0,
                "segmentation": [part.ravel().tolist() for part in parts],
            }
        )


def frame_outlines(frame: Frame) -> list[list[Polygon]]:
    """Each box's object as the polygons of the pixels it shows (none where it shows none)."""
    return [mask_parts(frame.masks == index + 1) for index in range(len(frame.boxes))]
