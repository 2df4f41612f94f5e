"""`odet eval`: score a model (or two, side by side) on a dataset split.

Runs MODEL through the same detection core as the robot's node over the images of DATA's split,
prints the results per class and writes ``metrics.json``, PNG plots and ``report.html`` to OUT.
With ``--compare OTHER`` both models run on the same images and the differences (OTHER minus
MODEL) are printed and written too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path("runs") / "eval"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from odet_ros.dataset.reader import SPLITS
    from odet_ros.detection.backends import BACKEND_CHOICES
    from odet_ros.evaluation.metrics import DEFAULT_CONF, MODES

    parser = subparsers.add_parser(
        "eval",
        help="mAP, precision, recall, confusion matrix of a model on a dataset split",
        description=(
            "Evaluate MODEL (a bundle folder, an installed bundle name, or a .pt/.onnx/.tflite "
            "file) on a split of DATA (a data.yaml or a dataset folder in the Ultralytics YOLO "
            "layout), through the same detector code as the robot. Predictions are made at conf "
            "0.001 and max_det 300 for mAP; precision and recall are also given at --conf, the "
            "robot's threshold."
        ),
    )
    parser.add_argument("model", help="bundle folder, installed bundle name, or model file")
    parser.add_argument("data", help="data.yaml, or a dataset folder holding one")
    parser.add_argument("--split", choices=SPLITS, default="val", help="default: val")
    parser.add_argument(
        "--mode",
        choices=tuple(MODES),
        default="coco",
        help="coco: COCOeval's mAP (default); ultralytics: the numbers `yolo val` prints",
    )
    parser.add_argument(
        "--conf",
        type=float,
        default=DEFAULT_CONF,
        help=f"the robot's score threshold, for P/R/F1 and the confusion matrix ({DEFAULT_CONF})",
    )
    parser.add_argument(
        "--out", type=Path, help=f"output folder (default: {DEFAULT_OUT}/<model>-<split>)"
    )
    parser.add_argument(
        "--compare",
        metavar="OTHER_MODEL",
        help="also evaluate this model on the same images and report the differences",
    )
    parser.add_argument(
        "--imgsz", type=int, help="network input size for .pt / dynamic models (default: model's)"
    )
    parser.add_argument(
        "--backend", choices=BACKEND_CHOICES, help="for MODEL (default: from the suffix)"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from odet_ros.detection.errors import SettingError
    from odet_ros.evaluation.compare import compare
    from odet_ros.evaluation.report import HTML_FILE, write_comparison, write_report
    from odet_ros.evaluation.runner import evaluate_models
    from odet_ros.evaluation.tables import class_comparison_table, comparison_table, results_table
    from odet_ros.evaluation.threshold import advise

    if not 0.0 <= args.conf <= 1.0:
        raise SettingError(f"--conf must be within 0-1, not {args.conf}")
    models = [args.model] if args.compare is None else [args.model, args.compare]
    runs = evaluate_models(
        models,
        args.data,
        args.split,
        mode=args.mode,
        conf=args.conf,
        imgsz=args.imgsz,
        backends=[args.backend] + [None] * (len(models) - 1),
        device=args.device,
    )
    out = args.out or _unused(DEFAULT_OUT / f"{_stem(args.model)}-{args.split}")
    for tag, result in zip("AB", runs, strict=False):
        label = f"{tag}: " if len(runs) > 1 else ""
        title = f"{label}{result.model} on {result.split} ({result.evaluation.mode} mode)"
        print(results_table(result.evaluation, title).to_text())
        advice = advise(result.evaluation.overall(), result.evaluation.conf)
        print(f"{label}{advice.line()}" if advice else "", end="\n\n")
        if result.masks is not None:
            title = f"{label}{result.model} on {result.split}: masks (COCO mode, segm)"
            print(results_table(result.masks, title).to_text(), end="\n\n")
    if len(runs) == 1:
        write_report(out, runs[0])
    else:
        comparison = compare(*runs)
        print(comparison_table(comparison).to_text(), end="\n\n")
        print(class_comparison_table(comparison).to_text(), end="\n\n")
        write_comparison(out, comparison)
    print(f"report: {out / HTML_FILE}")
    return 0


def _stem(model: str) -> str:
    path = Path(model)
    return path.name if path.is_dir() or not path.suffix else path.stem


def _unused(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... whichever does not exist yet."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate
