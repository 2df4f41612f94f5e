"""`odet train`: train a detector on a dataset with Ultralytics and write a model bundle.

Transfer learning from a local ``.pt`` (or a training bundle; with ``--download``, a published
Ultralytics weights file fetched once and checked), or from scratch from a model YAML; detection
or segmentation (``-seg``) models.
Ultralytics prints its progress; TensorBoard logs go to the run folder. The bundle (best weights,
class names, input size, dataset hash, training arguments, validation metrics) is written to
``PROJECT/NAME/bundle``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# (option, Ultralytics argument, help) of the augmentation overrides
AUGMENTATIONS = (
    ("--hsv-h", "hsv_h", "hue shift, fraction (Ultralytics default 0.015)"),
    ("--hsv-s", "hsv_s", "saturation change, fraction (0.7)"),
    ("--hsv-v", "hsv_v", "brightness change, fraction (0.4)"),
    ("--degrees", "degrees", "rotation, +/- degrees (0)"),
    ("--translate", "translate", "translation, +/- fraction (0.1)"),
    ("--scale", "scale", "scale gain, +/- fraction (0.5)"),
    ("--fliplr", "fliplr", "left-right flip probability (0.5)"),
    ("--mosaic", "mosaic", "mosaic probability (1.0)"),
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a detector with Ultralytics YOLO; writes a model bundle",
        description=(
            "Train on DATA (a data.yaml, or a dataset folder holding one) starting from MODEL: a "
            "local .pt or training bundle (transfer learning) or a model YAML such as "
            "yolo11n.yaml or yolo11n-seg.yaml (from scratch). Nothing is downloaded unless "
            "--download: weights are local files. "
            "Writes PROJECT/NAME/ (Ultralytics' run: weights, plots, TensorBoard logs) and "
            "PROJECT/NAME/bundle (the model bundle)."
        ),
    )
    parser.add_argument("--data", required=True, help="data.yaml, or a dataset folder")
    parser.add_argument(
        "--model", help="local .pt, training bundle, or model YAML (yolo11n.yaml); required"
    )
    parser.add_argument("--epochs", type=int, default=100, help="default 100")
    parser.add_argument("--imgsz", type=int, default=640, help="input size, pixels (640)")
    parser.add_argument("--batch", type=int, default=16, help="images per batch (16)")
    parser.add_argument(
        "--device", help="cpu, cuda:N, or GPU ids for multi-GPU DDP (0,1); default: a GPU if any"
    )
    parser.add_argument(
        "--patience", type=int, default=100, help="stop after N epochs without improvement"
    )
    parser.add_argument(
        "--freeze",
        type=_freeze,
        help="freeze the first N layers (N), or the listed layer indices (0,1,2)",
    )
    parser.add_argument("--optimizer", default="auto", help="auto, SGD, AdamW, ... (auto)")
    parser.add_argument("--lr0", type=float, help="initial learning rate (optimizer's default)")
    for option, _, text in AUGMENTATIONS:
        parser.add_argument(option, type=float, metavar="F", help=text)
    parser.add_argument(
        "--project", type=Path, default=Path("runs") / "train", help="runs folder (runs/train)"
    )
    parser.add_argument("--name", default="exp", help="run name; numbered if taken (exp)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue PROJECT/NAME's interrupted run (or the last.pt given as --model)",
    )
    parser.add_argument("--workers", type=int, default=8, help="data-loading processes (8)")
    parser.add_argument(
        "--no-tensorboard", action="store_true", help="do not write TensorBoard logs"
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="fetch a published Ultralytics weights file named by --model (yolo11n-seg.pt) that"
        " is not here, with Ultralytics' downloader, into ~/.cache/odet/weights, its SHA-256"
        " checked against the release's (needs internet; never without this flag)",
    )
    parser.set_defaults(func=run)


def _freeze(text: str) -> int | list[int]:
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected N or indices like 0,1,2, not {text!r}"
        ) from None
    return values if "," in text else values[0]


def run(args: argparse.Namespace) -> int:
    # Ultralytics' epoch progress bars: read when odet_ros.ultralytics_env is first imported
    os.environ.setdefault("YOLO_VERBOSE", "True")
    from odet_ros.training.errors import TrainingError
    from odet_ros.training.train import TrainSettings, train

    if args.model is None and not args.resume:
        raise TrainingError("--model is required: a local .pt, a training bundle or a model YAML")
    augment = {
        key: getattr(args, key) for _, key, _ in AUGMENTATIONS if getattr(args, key) is not None
    }
    result = train(
        TrainSettings(
            data=args.data,
            model=args.model or "",
            epochs=args.epochs,
            imgsz=args.imgsz,
            batch=args.batch,
            device=args.device,
            patience=args.patience,
            freeze=args.freeze,
            optimizer=args.optimizer,
            lr0=args.lr0,
            augment=augment,
            project=args.project,
            name=args.name,
            resume=args.resume,
            workers=args.workers,
            tensorboard=not args.no_tensorboard,
            download=args.download,
        )
    )
    figures = ", ".join(f"{name} {value:.4f}" for name, value in result.metrics.items())
    print(f"validation (Ultralytics mode): {figures}")
    print(f"run: {result.run}")
    print(f"bundle: {result.bundle}")
    if not args.no_tensorboard:
        print(f"tensorboard --logdir {result.run.parent}")
    print(f"next: odet export {result.bundle} --format onnx --data {args.data}")
    return 0
