"""`odet detect`: run a model over images, an image folder, a video or a bag, off the robot.

Writes ``OUT/detections.jsonl`` (one line per frame) and, with ``--annotated``, the frames with
their boxes drawn (``OUT/annotated/`` for images, ``OUT/annotated.mp4`` for a video). For a bag
it also writes ``OUT/detections_bag`` (mcap) with the Detection2DArray and LabelInfo messages
the node would have published. Uses the same Detector as the ROS node, so what it finds here is
what the robot publishes.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from odet_ros.depth import DepthOptions
    from odet_ros.detection.backends import BACKEND_CHOICES
    from odet_ros.detection.detector import DetectionSettings
    from odet_ros.messages.vision import CLASS_ID_FORMATS

    depth_default = DepthOptions("").tolerance_s

    parser = subparsers.add_parser(
        "detect",
        help="detect objects in an image, an image folder, a video or a bag",
        description=(
            "Run a model (a bundle folder, a bundle name from the installed models/, or a "
            ".pt/.onnx/.tflite/.engine file) over SOURCE and write OUT/detections.jsonl: one "
            "line per frame with its file name, frame index or (bags) header stamp in ns, and "
            "the boxes in source pixels. A bag source also gives OUT/detections_bag, an mcap bag "
            "with /detections and /label_info stamped like the images, for `ros2 bag play`; "
            "with --depth-topic, /detections_3d and /detection_markers too, and each located "
            "box's position and size (metres, camera frame) in detections.jsonl."
        ),
    )
    parser.add_argument("model", help="bundle folder, installed bundle name, or model file")
    parser.add_argument(
        "source", type=Path, help="an image, a folder of images, a video file, or a bag"
    )
    parser.add_argument("--topic", help="image topic of a bag (default: its only image topic)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    depth = parser.add_argument_group("3D positions from a bag's aligned depth")
    depth.add_argument("--depth-topic", help="depth image aligned to the colour image")
    depth.add_argument(
        "--camera-info-topic", help="colour CameraInfo (default: camera_info beside --topic)"
    )
    depth.add_argument(
        "--depth-camera-info-topic",
        help="the depth image's CameraInfo, for a depth image of another size (default: beside"
        " --depth-topic)",
    )
    depth.add_argument(
        "--depth-tolerance",
        type=float,
        default=depth_default,
        help="seconds between a frame's stamp and its depth frame's at most (default"
        " %(default)s, as the node's depth_tolerance)",
    )
    parser.add_argument(
        "--conf",
        type=float,
        help="score threshold (default: the model's own, the best-F1 confidence its bundle"
        f" records, else {DetectionSettings.conf}; as the node's conf_threshold)",
    )
    parser.add_argument(
        "--iou",
        type=float,
        default=DetectionSettings.iou,
        help="NMS IoU threshold (default %(default)s)",
    )
    parser.add_argument(
        "--max-det",
        type=int,
        default=DetectionSettings.max_det,
        help="detections per frame at most (default %(default)s)",
    )
    parser.add_argument(
        "--imgsz", type=int, help="network input size for .pt / dynamic models (default: model's)"
    )
    parser.add_argument(
        "--classes", nargs="+", metavar="CLASS", help="keep only these classes (names or ids)"
    )
    parser.add_argument(
        "--labels",
        help="class names for a model without them: labels.txt, labelmap.txt or label_map.pbtxt"
        " (default: bundle, metadata, else such a file beside the model)",
    )
    parser.add_argument("--backend", choices=BACKEND_CHOICES, help="default: from the suffix")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--num-threads", type=int, help="CPU threads for the runtime")
    parser.add_argument("--half", action="store_true", help="fp16 inference (GPU)")
    parser.add_argument(
        "--annotated",
        nargs="?",
        const="auto",
        choices=("auto", "images", "video", "topic"),
        help=(
            "also write the frames with boxes drawn: images (OUT/annotated/), video "
            "(OUT/annotated.mp4) or topic (/image_annotated in the output bag); auto: the "
            "source's own kind, a topic for bags"
        ),
    )
    parser.add_argument(
        "--class-id-format",
        choices=CLASS_ID_FORMATS,
        default=CLASS_ID_FORMATS[0],
        help="ObjectHypothesis.class_id in the output bag (as the node's parameter)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from tqdm import tqdm

    from odet_ros.dataset.bag_search import is_bag
    from odet_ros.detection.detector import load_detector
    from odet_ros.detection.drawing import draw_detections
    from odet_ros.replay.outputs import AnnotatedImages, AnnotatedVideo, DetectionsWriter
    from odet_ros.replay.sources import open_frames

    bag = is_bag(args.source)
    frames = None if bag else open_frames(args.source)  # a bad SOURCE fails before loading
    detector = load_detector(
        args.model,
        args.backend,
        device=args.device,
        imgsz=args.imgsz,
        num_threads=args.num_threads,
        half=args.half,
        conf=args.conf,
        iou=args.iou,
        max_det=args.max_det,
        labels=args.labels,
    )
    if args.classes:
        detector.settings = replace(detector.settings, classes=detector.class_ids(args.classes))
    if frames is None:
        from odet_ros.depth import DepthOptions
        from odet_ros.replay.bags import replay_bag

        depth = None
        if args.depth_topic:
            depth = DepthOptions(
                args.depth_topic,
                args.camera_info_topic or "",
                args.depth_camera_info_topic or "",
                args.depth_tolerance,
            )
        summary = replay_bag(
            detector,
            args.source,
            args.out,
            topic=args.topic,
            annotated="topic" if args.annotated == "auto" else args.annotated,
            class_id_format=args.class_id_format,
            depth=depth,
        )
        skipped = f", {summary.skipped} undecodable skipped" if summary.skipped else ""
        located = ""
        if depth is not None:
            located = f", {summary.located} located in 3D"
            if summary.without_depth:
                located += f" ({summary.without_depth} frames without depth)"
        print(
            f"{summary.bag}: {summary.frames} frames of {summary.topic},"
            f" {summary.detections} detections{located}{skipped}"
        )
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    count = boxes = 0
    with contextlib.ExitStack() as outputs:
        jsonl = outputs.enter_context(DetectionsWriter(args.out, detector.names))
        annotated: AnnotatedImages | AnnotatedVideo | None = None
        if args.annotated:
            kind = {"images": "images", "video": "video"}.get(args.annotated, frames.kind)
            if kind == "images":
                annotated = outputs.enter_context(AnnotatedImages(args.out))
            else:
                annotated = outputs.enter_context(AnnotatedVideo(args.out, frames.fps))
        for frame in tqdm(frames, total=frames.total, unit="frame", desc="detect"):
            detections = detector.detect(frame.image)
            jsonl.write(frame.key, detections)
            count, boxes = count + 1, boxes + len(detections)
            if annotated is not None:
                annotated.write(frame.key, draw_detections(frame.image, detections, detector.names))
    skipped = f", {frames.skipped} unreadable skipped" if frames.skipped else ""
    print(f"{jsonl.path}: {count} frames, {boxes} detections{skipped}")
    return 0
