"""`odet label`: pre-labels from an existing model, and packages for the labelling tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from odet_ros.dataset.layout import Dataset
    from odet_ros.labelstudio import LabelStudio


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "label",
        help="pre-label a dataset with a model; write Label Studio, CVAT and COCO packages",
        description=(
            "Run a model (bundle folder or name, .pt, .onnx, .tflite) on every image without a"
            " reviewed label file and write its boxes above --conf as YOLO labels, marked as"
            " pre-labels in prelabels.json. Then write DATASET/labelling/: labelstudio/tasks.json"
            " (predictions with scores and model_version) and labeling_config.xml,"
            " cvat_yolo1.1.zip and coco.json (CVAT and Roboflow import these). Without --model,"
            " the pre-labels the dataset holds (from `odet bag export` of a selected capture)"
            " go out as they are."
        ),
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET")
    parser.add_argument(
        "--model", "-m", help="bundle, .pt, .onnx or .tflite (default: keep the pre-labels)"
    )
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
    live = parser.add_argument_group(
        "a live Label Studio (--to labelstudio)",
        "Push the images and pre-labels to a project on a running server. The token comes from"
        " LABEL_STUDIO_API_KEY or --token (Account & Settings -> Personal Access Token) and is"
        " never printed.",
    )
    live.add_argument("--to", choices=["labelstudio"], help="also push to a running server")
    live.add_argument("--url", help="the server, e.g. http://localhost:8080 (or LABEL_STUDIO_URL)")
    live.add_argument("--token", help="API token (prefer LABEL_STUDIO_API_KEY: flags show in ps)")
    live.add_argument("--project", type=int, help="the project id (default: by --project-title)")
    live.add_argument(
        "--project-title", help="the project to find or create (default: the dataset's folder name)"
    )
    live.add_argument(
        "--storage",
        choices=["upload", "local-files"],
        default="upload",
        help="upload the images (any server), or serve DATASET/images as local storage (a server"
        " on this machine, started with local files serving on)",
    )
    live.add_argument(
        "--document-root",
        type=Path,
        help="local-files: the server's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (default: that"
        " variable here)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from odet_ros.dataset.autolabel import prelabel_dataset
    from odet_ros.dataset.layout import Dataset
    from odet_ros.dataset.prelabels import Prelabels

    dataset = Dataset.open(args.dataset)
    server = _server(args) if args.to == "labelstudio" else None  # a bad URL or token fails first
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
    if args.model is None:
        prelabelled = len(Prelabels.load(dataset))
        print(f"no --model: the {prelabelled} pre-labelled images keep their pre-labels")
    else:
        print(
            f"{report.labelled} of {report.images} images pre-labelled ({report.boxes} boxes);"
            f" {report.kept_reviewed} with reviewed labels left alone"
        )
    if report.added_classes:
        print(f"classes added to data.yaml: {', '.join(report.added_classes)}")
    for package in report.packages:
        print(f"package: {package}")
    if server is not None:
        _push(args, dataset, server)
    if report.unreadable:
        print(
            f"error: {len(report.unreadable)} unreadable images, e.g. {report.unreadable[0]}",
            file=sys.stderr,
        )
        return 1
    return 0


def _server(args: argparse.Namespace) -> LabelStudio:
    from odet_ros.labelstudio import LabelStudio

    return LabelStudio.connect(args.url, args.token)


def _push(args: argparse.Namespace, dataset: Dataset, server: LabelStudio) -> None:
    from odet_ros.labelstudio import push_dataset

    pushed = push_dataset(
        dataset,
        server,
        project_id=args.project,
        title=args.project_title,
        storage=args.storage,
        document_root=args.document_root,
        progress=sys.stderr.isatty(),
    )
    project = pushed.project
    how = "created" if pushed.created else "updated"
    print(f"Label Studio project {project.id} ({project.title!r}) {how}: {pushed.page}")
    if pushed.added_classes:
        print(f"classes added to the project: {', '.join(pushed.added_classes)}")
    print(
        f"{pushed.tasks} new tasks ({pushed.predictions} with predictions, {pushed.annotations}"
        f" with annotations); {pushed.present} images were already in the project"
    )
