"""`odet label`: pre-labels from an existing model, and packages for the labelling tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "label",
        help="pre-label a dataset with a model; write Label Studio, CVAT and COCO packages",
        description=(
            "Run a model (bundle folder or name, .pt, .onnx, .tflite) on every image without a"
            " reviewed label file and write its boxes above --conf as YOLO labels, marked as"
            " pre-labels in prelabels.json. Then write DATASET/labelling/: labelstudio/tasks.json"
            " (predictions with scores and model_version) and labeling_config.xml,"
            " cvat_yolo1.1.zip and coco.json (CVAT and Roboflow import these)."
        ),
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET")
    parser.add_argument("--model", "-m", required=True, help="bundle, .pt, .onnx or .tflite")
    parser.add_argument("--conf", type=float, default=0.25, help="confidence threshold")
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold")
    parser.add_argument("--imgsz", type=int, help="input size for models that accept any")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--overwrite", action="store_true", help="also replace labels a person made"
    )
    parser.add_argument(
        "--image-prefix",
        default="/data/local-files/?d=images/",
        help="URL prefix under which Label Studio serves DATASET/images/",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from odet_ros.dataset.autolabel import prelabel_dataset
    from odet_ros.dataset.layout import Dataset

    dataset = Dataset.open(args.dataset)
    report = prelabel_dataset(
        dataset,
        args.model,
        conf=args.conf,
        iou=args.iou,
        imgsz=args.imgsz,
        device=args.device,
        overwrite=args.overwrite,
        image_prefix=args.image_prefix,
        progress=sys.stderr.isatty(),
    )
    print(
        f"{report.labelled} of {report.images} images pre-labelled ({report.boxes} boxes);"
        f" {report.kept_reviewed} with reviewed labels left alone"
    )
    if report.added_classes:
        print(f"classes added to data.yaml: {', '.join(report.added_classes)}")
    for package in report.packages:
        print(f"package: {package}")
    if report.unreadable:
        print(
            f"error: {len(report.unreadable)} unreadable images, e.g. {report.unreadable[0]}",
            file=sys.stderr,
        )
        return 1
    return 0
