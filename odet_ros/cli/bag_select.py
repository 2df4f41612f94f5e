"""`odet bag select`: the frames of a recording the deployed model asks to be labelled (a verb of
`odet bag`, see VERB_MODULES)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from odet_ros.selection import DEFAULT_SELECTION as DEFAULT
    from odet_ros.selection.selector import RECOMMENDED_REASONS

    parser = verbs.add_parser(
        "select",
        help="keep the frames a model is unsure of, blind to, flickers on or finds new",
        description=(
            "Run a model over a camera topic of a bag and keep, within a budget, the frames it is"
            " unsure of (every box, or --unsure-share of them, scoring under what its false"
            " positives seldom reach, or torn between two classes), blind to (image conditions"
            " outside its training images', or far fewer boxes than usual in a view unlike"
            " them), unstable"
            " on (an object changing class or coming back after vanishing, a jump in the number"
            " of boxes) or that look like nothing it was trained on or kept so far (novel), if"
            " sharp and no duplicate. What is usual comes from the model's bundle (score"
            " statistics and training views, written by odet train and odet export), else from"
            " its first --calibration seconds of footage. The kept frames go into a new bag with"
            " their CameraInfo and a selection record (reasons and the model's boxes), which"
            " `odet bag export` turns into pre-labelled images, as it does the capture node's."
        ),
    )
    parser.add_argument("bag", type=Path, metavar="BAG", help="bag folder or file")
    parser.add_argument("--model", "-m", required=True, help="bundle, .pt, .onnx or .tflite")
    parser.add_argument("--out", "-o", type=Path, required=True, help="the bag to write")
    parser.add_argument("--topic", help="camera topic (default: the bag's only image topic)")
    parser.add_argument(
        "--reasons",
        default=",".join(RECOMMENDED_REASONS),
        help="some of unsure,unstable,novel,blind, or all (default %(default)s: the README's"
        " recommendation)",
    )
    parser.add_argument(
        "--budget", type=int, default=0, help="frames to keep in all, spread over the recording"
    )
    parser.add_argument(
        "--per-view",
        type=int,
        default=DEFAULT.per_view,
        help="frames kept of one view (within --novelty of each other) at most (default"
        " %(default)s; 0: no limit)",
    )
    parser.add_argument(
        "--trained-view",
        type=float,
        default=DEFAULT.trained_view,
        help="a frame within this colour-view distance of a training view is not kept: the view"
        " is labelled already (default %(default)s; 0: off)",
    )
    parser.add_argument(
        "--per-minute",
        type=float,
        help=f"frames kept per minute of footage at most (default {DEFAULT.per_minute:g}; with"
        " --budget: the budget spread evenly)",
    )
    parser.add_argument(
        "--new-burst",
        type=int,
        default=DEFAULT.new_burst,
        help="frames a new condition may take ahead of the rate (default %(default)s)",
    )
    parser.add_argument(
        "--band",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="unsure: scores in [LOW, HIGH), fixed (default: the model's own band)",
    )
    parser.add_argument(
        "--calibration",
        type=float,
        default=DEFAULT.calibration_s,
        metavar="SECONDS",
        help="a model without score statistics: footage to learn what is usual from (default"
        " %(default)s; 0: the fixed band 0.25-0.6 throughout)",
    )
    parser.add_argument(
        "--unsure-share",
        type=float,
        default=DEFAULT.unsure_share,
        help="unsure: share of a frame's boxes that must be unsure (default %(default)s:"
        " every box; 0.01: any box)",
    )
    parser.add_argument(
        "--unsure-margin",
        type=float,
        default=DEFAULT.unsure_margin,
        help="unsure: a box whose best class leads the runner-up by less (default %(default)s;"
        " 0: off)",
    )
    parser.add_argument(
        "--count-jump",
        type=int,
        default=DEFAULT.count_jump,
        help="unstable: boxes gained or lost (default %(default)s; 0: off)",
    )
    parser.add_argument(
        "--novelty",
        type=float,
        default=DEFAULT.novelty,
        help="novel: view distance to every training view and kept frame (default %(default)s)",
    )
    parser.add_argument("--tracker", choices=("none", "bytetrack"), default="none")
    parser.add_argument(
        "--blur-threshold", type=float, default=DEFAULT.quality.blur_threshold, help="min sharpness"
    )
    parser.add_argument(
        "--duplicate-threshold",
        type=float,
        default=DEFAULT.quality.duplicate_threshold,
        help="min change from the last kept (default %(default)s)",
    )
    parser.add_argument("--imgsz", type=int, help="input size for models that accept any")
    parser.add_argument("--device", default="cpu")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from odet_ros.detection.detector import load_detector
    from odet_ros.selection import DEFAULT_SELECTION
    from odet_ros.selection.configure import configure_selection
    from odet_ros.selection.offline import select_bag
    from odet_ros.tracking import make_tracker

    low, high = args.band or (0.0, 0.0)
    per_minute = args.per_minute
    if per_minute is None:
        per_minute = 0.0 if args.budget else DEFAULT_SELECTION.per_minute
    values = {
        "select": args.reasons,
        "unsure_low": low,
        "unsure_high": high,
        "unsure_share": args.unsure_share,
        "unsure_margin": args.unsure_margin,
        "count_jump": args.count_jump,
        "novelty": args.novelty,
        "per_view": args.per_view,
        "trained_view": args.trained_view,
        "per_minute": per_minute,
        "budget": args.budget,
        "new_burst": args.new_burst,
        "calibration_seconds": args.calibration,
        "blur_threshold": args.blur_threshold,
        "duplicate_threshold": args.duplicate_threshold,
    }
    selection = configure_selection(values, args.model)
    if selection.warning:
        print(f"warning: {selection.warning}", file=sys.stderr)
    floor = selection.selector().band[0]  # the detector reports every box the selection sees
    detector = load_detector(args.model, device=args.device, imgsz=args.imgsz, conf=floor)
    report = select_bag(
        detector,
        args.bag,
        args.out,
        selection,
        topic=args.topic,
        tracker=make_tracker(args.tracker, activation_threshold=floor),
        progress=sys.stderr.isatty(),
    )
    reasons = ", ".join(f"{reason} {n}" for reason, n in report.by_reason.items()) or "none"
    print(f"{report.topic}: kept {report.kept} of {report.frames} frames ({reasons})")
    print(f"new conditions: {report.kept_new} of the kept frames; {report.usual}")
    if report.refused:
        refused = ", ".join(f"{why} {n}" for why, n in sorted(report.refused.items()))
        print(f"qualified but not kept: {refused}")
    if report.skipped:
        print(f"frames that could not be decoded: {report.skipped}")
    print(f"bag: {report.bag}")
    return 0
