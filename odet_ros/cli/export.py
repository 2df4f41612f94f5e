"""`odet export`: a trained model for the robot, as a model bundle with its measured accuracy.

Exports MODEL (a training bundle or a .pt) to ONNX, TFLite (fp32, int8 calibrated on the
dataset's train images, int8 weights only), a DeepStream package or a TensorRT engine; then
scores the exported model and its .pt on the dataset's test split (val without one) with odet's
evaluation and writes the figures and the mAP50-95 drop into the bundle.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from odet_ros.training.formats import FORMATS

    parser = subparsers.add_parser(
        "export",
        help="export a trained model (ONNX, TFLite, DeepStream, TensorRT) into a model bundle",
        description=(
            "Export MODEL (a training bundle or a local .pt) into a model bundle at OUT, then "
            "evaluate it and its .pt on the test split of DATA (val if there is no test split) "
            "and record the metrics and the mAP50-95 drop in the bundle. tflite-int8 calibrates "
            "on DATA's train images and needs DATA. Nothing is left at OUT if any step fails."
        ),
    )
    parser.add_argument("model", help="training bundle folder or .pt file")
    parser.add_argument("--format", required=True, choices=tuple(FORMATS), help="export format")
    parser.add_argument(
        "--data", help="data.yaml or dataset folder (default: the bundle's training dataset)"
    )
    parser.add_argument("--imgsz", type=int, help="input size, pixels (default: training size)")
    parser.add_argument(
        "--camera",
        type=_frame_size,
        metavar="WxH",
        help=(
            "the robot camera's frame size, e.g. 640x480: export a rectangular input that holds"
            " its frames letterboxed to --imgsz (320 -> 320x256, a fifth faster than 320x320)"
        ),
    )
    parser.add_argument("--opset", type=int, help="ONNX opset (deepstream: 17)")
    parser.add_argument(
        "--dynamic",
        action="store_true",
        help="ONNX with dynamic input shape and batch (any frame size, any number of cameras)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="frames per run, fixed: one per camera of a detector serving N cameras (ONNX,"
        " engine; default 1)",
    )
    parser.add_argument(
        "--simplify",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="simplify the ONNX graph (default: yes)",
    )
    parser.add_argument("--out", type=Path, help="bundle folder (runs/export/<model>-<format>)")
    parser.add_argument(
        "--max-drop",
        type=float,
        default=2.0,
        help="warn when mAP50-95 drops by more than this many points (2)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, or cuda:N (engine) (default cpu)")
    parser.add_argument("--force", action="store_true", help="replace an existing OUT")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from odet_ros.training.export import ExportSettings, export_model

    settings = ExportSettings(
        model=args.model,
        format=args.format,
        data=args.data,
        imgsz=args.imgsz,
        camera=args.camera,
        opset=args.opset,
        dynamic=args.dynamic,
        batch=args.batch,
        simplify=args.simplify,
        out=args.out,
        max_drop=args.max_drop,
        device=args.device,
        force=args.force,
    )
    with _third_party_logs_quiet():
        result = export_model(settings)
    accuracy = result.accuracy
    if accuracy is None:
        print(
            "WARNING: not evaluated: no dataset (pass --data to measure the exported model)",
            file=sys.stderr,
        )
    else:
        metrics = accuracy.metrics()
        print(
            f"{accuracy.exported.split} split, {accuracy.exported.evaluation.images} images"
            f" (COCO mode): exported mAP50 {metrics['map50']:.4f}, mAP50-95"
            f" {metrics['map50_95']:.4f}; source .pt mAP50-95 {metrics['source_map50_95']:.4f};"
            f" drop {accuracy.drop_points:+.2f} points"
        )
        if accuracy.mask_drop_points is not None:
            print(
                f"masks: exported mAP50 {metrics['mask_map50']:.4f}, mAP50-95"
                f" {metrics['mask_map50_95']:.4f}; source .pt mAP50-95"
                f" {metrics['source_mask_map50_95']:.4f}; drop {accuracy.mask_drop_points:+.2f}"
                " points"
            )
        if result.drop_exceeded:
            print(
                f"\n!!! WARNING: the {args.format} export lost {accuracy.worst_drop_points:.2f}"
                f" mAP50-95 points (boxes {accuracy.drop_points:.2f}"
                + (
                    ""
                    if accuracy.mask_drop_points is None
                    else f", masks {accuracy.mask_drop_points:.2f}"
                )
                + f") against its .pt, more than --max-drop {args.max_drop:g}.\n!!! Check the"
                " calibration images (int8) or ship a float model; the bundle records the drop.\n",
                file=sys.stderr,
            )
    if result.hint:
        print(f"hint: {result.hint}")
    print(f"bundle: {result.bundle}")
    print(f"next: odet deploy {result.bundle}")
    return 0


def _frame_size(text: str) -> tuple[int, int]:
    """'640x480' -> (640, 480)."""
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or min(int(width), int(height)) < 1:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, not {text!r}")
    return int(width), int(height)


class _OdetOnly(logging.Filter):
    """Below WARNING, only odet's own records (converters log their passes at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith("odet_ros")


@contextlib.contextmanager
def _third_party_logs_quiet() -> Iterator[None]:
    quiet = _OdetOnly()
    handlers = logging.getLogger().handlers
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)
