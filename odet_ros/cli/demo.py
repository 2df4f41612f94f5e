"""`odet demo`: the whole workflow on the bundled sample, ending in an HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run every workflow step on the bundled sample and write an HTML report",
        description=(
            "Sample bag -> bag export (sampling, de-duplication, blur filter) -> label import -> "
            "dataset check -> grouped split -> training YOLO11n from its YAML on the CPU -> "
            "evaluation -> export to ONNX and int8 TFLite -> evaluation of the exports -> "
            "detection over the sample bag -> OUT/report.html, which shows each step's figures "
            "and plots and the odet command that reproduces it. Needs the train extra. Exit code 1"
            " when the .pt's COCO mAP50 on the test split is below 0.8 or int8 TFLite loses more"
            " than 2 points of mAP50-95, or a pipeline check fails (with --quick: only then)."
        ),
    )
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="(runs/demo)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--task",
        choices=("detect", "segment"),
        default="detect",
        help="segment: the same steps with a YOLO11n-seg trained on the sample's outlines, its"
        " masks scored, exported and published (default detect)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="every step with fewer frames and epochs (CI): the model is under-trained, so the"
        " targets are reported but the exit code says only whether the pipeline works",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from odet_ros.cli.main import main
    from odet_ros.demo.pipeline import DemoSettings, run_demo
    from odet_ros.demo.report import write_report

    settings = (
        DemoSettings.quick_run(args.seed, args.task)
        if args.quick
        else DemoSettings(seed=args.seed, task=args.task)
    )
    demo = run_demo(args.out, settings, execute=main)
    report, verdict = write_report(demo)
    print(f"report: {report}")
    print(verdict.headline())
    for check in verdict.missed():
        print(f"  not met: {check.name}: {check.measured} (needed {check.needed})")
    return 0 if verdict.passed else 1
