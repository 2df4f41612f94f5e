"""`odet dataset`: labels in and out, checks and statistics, split, augmentation, preprocessing."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from odet_ros.cli.errors import UsageError

if TYPE_CHECKING:
    from odet_ros.dataset.importing import ImportReport
    from odet_ros.dataset.layout import Dataset

FORMAT_HELP = "yolo, yolo1.1, coco, voc, cvat or labelstudio"
FORMATS = ("yolo", "yolo1.1", "coco", "voc", "cvat", "labelstudio")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dataset",
        help="import/export labels, check, split, augment and preprocess a dataset",
        description="Work on a dataset folder in the Ultralytics YOLO layout (odet bag export).",
    )

    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)
    verbs = parser.add_subparsers(dest="dataset_command", metavar="VERB")
    _add_import(verbs)
    _add_export_labels(verbs)
    _add_check(verbs)
    _add_split(verbs)
    _add_augment(verbs)
    _add_preprocess(verbs)


def _progress() -> bool:
    return sys.stderr.isatty()


def _add_import(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "import",
        help="labels from a labelling tool's export onto the dataset's images",
        description=(
            "Read labels (a file, folder or zip) and write the YOLO label files of the images they"
            " match, by file name or, for odet frame names, by topic and stamp. Classes are mapped"
            " by name; new ones are appended to data.yaml. The source is checked whole before"
            " anything is written."
        ),
    )
    parser.add_argument(
        "source", type=Path, nargs="?", metavar="SRC", help="label file, folder or .zip"
    )
    parser.add_argument("--format", "-f", choices=FORMATS, help=FORMAT_HELP)
    parser.add_argument("--into", required=True, type=Path, metavar="DATASET")
    live = parser.add_argument_group(
        "from a live Label Studio (--from labelstudio, instead of SRC and --format)",
        "Pull a project's annotations over its API; the token comes from LABEL_STUDIO_API_KEY"
        " or --token and is never printed.",
    )
    live.add_argument("--from", dest="server", choices=["labelstudio"])
    live.add_argument("--url", help="the server, e.g. http://localhost:8080 (or LABEL_STUDIO_URL)")
    live.add_argument("--token", help="API token (prefer LABEL_STUDIO_API_KEY: flags show in ps)")
    live.add_argument("--project", type=int, help="the project id")
    live.add_argument(
        "--all-tasks",
        action="store_true",
        help="every task with a submitted annotation, not only the completed ones",
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="rename a class (two to one name merges them; OLD= drops OLD); repeatable",
    )
    parser.add_argument(
        "--boxes-only",
        action="store_true",
        help="the source's boxes without their outlines (polygons, masks): a detection dataset"
        " from a segmentation export",
    )
    parser.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from odet_ros.dataset.importing import import_labels
    from odet_ros.dataset.layout import Dataset
    from odet_ros.labels.classes import parse_mapping

    dataset = Dataset.open(args.into)
    mapping = parse_mapping(args.map)
    if args.server == "labelstudio":
        report = _pull(args, dataset, mapping)
        source = f"project {args.project}"
    elif args.source is None or args.format is None:
        raise UsageError("give SRC and --format, or --from labelstudio --url URL --project ID")
    else:
        report = import_labels(dataset, args.format, args.source, mapping, args.boxes_only)
        source = str(args.source)
    print(
        f"{source}: {report.images} labelled images, {report.matched} matched,"
        f" {len(report.unmatched)} unmatched; {report.boxes} {report.shapes} written"
    )
    if report.unmatched:
        sample = ", ".join(report.unmatched[:3])
        print(f"unmatched (not in the dataset, e.g. filtered out by the export): {sample} ...")
    for what, count in [
        ("boxes clipped to their image", report.clipped),
        ("boxes with no area inside their image dropped", report.empty),
        ("boxes of dropped classes", report.dropped),
        ("pre-labels replaced by reviewed labels", report.reviewed),
        *((f"skipped {reason}", n) for reason, n in sorted(report.skipped.items())),
    ]:
        if count:
            print(f"{what}: {count}")
    if report.added:
        print(f"classes added to data.yaml: {', '.join(report.added)}")
    print(f"classes: {', '.join(report.names)}")
    return 0


def _pull(
    args: argparse.Namespace, dataset: Dataset, mapping: dict[str, str | None]
) -> ImportReport:
    from odet_ros.labelstudio import LabelStudio, pull_labels

    if args.source is not None or args.format is not None:
        raise UsageError("--from labelstudio takes no SRC or --format")
    if args.project is None:
        raise UsageError("--from labelstudio needs --project ID (the number in the project's URL)")
    server = LabelStudio.connect(args.url, args.token)
    pulled = pull_labels(
        dataset,
        server,
        args.project,
        all_tasks=args.all_tasks,
        mapping=mapping,
        boxes_only=args.boxes_only,
    )
    print(f"pulled {pulled.tasks} tasks from {server.url} into {pulled.saved}")
    if pulled.unfinished:
        print(f"{pulled.unfinished} tasks not completed yet were left out (--all-tasks takes them)")
    return pulled.imported


def _add_export_labels(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "export-labels",
        help="the dataset's labels for a labelling tool",
        description=(
            "Write the labels in a tool's format: OUT ending in .zip gives an archive, a file name"
            " with the format's suffix (labels.json) a single file, anything else a folder."
            " Pre-labels go out as predictions where the format has them (Label Studio)."
        ),
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET")
    parser.add_argument("--format", "-f", required=True, choices=FORMATS, help=FORMAT_HELP)
    parser.add_argument("--out", "-o", required=True, type=Path)
    parser.add_argument(
        "--image-prefix",
        default="/data/local-files/?d=images/",
        help="Label Studio: URL prefix of the image files (default: local storage rooted at"
        " DATASET)",
    )
    parser.set_defaults(func=run_export_labels)


def run_export_labels(args: argparse.Namespace) -> int:
    from odet_ros.dataset.label_export import export_labels
    from odet_ros.dataset.layout import Dataset

    files = export_labels(
        Dataset.open(args.dataset),
        args.format,
        args.out,
        image_prefix=args.image_prefix,
        progress=_progress(),
    )
    print(f"{args.format}: {len(files)} file(s) written to {args.out}")
    return 0


def _add_check(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "check",
        help="find label and image problems; class balance and box statistics",
        description=(
            "Report errors (bad label lines, unknown classes, coordinates outside [0, 1], empty"
            " boxes, unreadable images) and warnings (duplicates, heavy same-class overlap, label"
            " files without images, identical images, unreviewed pre-labels) with file and line,"
            " then statistics as JSON, PNG plots and an HTML page. Exit code 1 if errors."
        ),
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET")
    parser.add_argument(
        "--report", type=Path, help="report folder (default DATASET/report)", metavar="DIR"
    )
    parser.add_argument("--min-instances", type=int, default=50, help="warn below (default 50)")
    parser.add_argument("--max-imbalance", type=float, default=10.0, help="warn above (default 10)")
    parser.add_argument("--overlap-iou", type=float, default=0.9, help="same-class overlap warning")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    parser.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from odet_ros.dataset.check import CheckSettings, check_dataset
    from odet_ros.dataset.layout import Dataset
    from odet_ros.dataset.manifest import read_manifest
    from odet_ros.dataset.report import write_report
    from odet_ros.dataset.stats import StatsSettings, dataset_stats

    dataset = Dataset.open(args.dataset)
    checked = check_dataset(dataset, CheckSettings(args.overlap_iou), _progress())
    stats = dataset_stats(
        dataset.names(),
        checked,
        read_manifest(dataset.manifest_path),
        StatsSettings(args.min_instances, args.max_imbalance),
    )
    report_dir = args.report or dataset.root / "report"
    write_report(stats, checked, report_dir, dataset.images_dir)
    for finding in checked.findings:
        print(finding)
    summary = stats.to_json()
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(
            f"{summary['images']} images ({summary['background_images']} background, no label"
            f" file), {summary['instances']} instances"
        )
        for name, figures in summary["classes"].items():
            print(f"  {name}: {figures['instances']} instances in {figures['images']} images")
        if summary["imbalance_ratio"] is not None:
            print(f"imbalance ratio: {summary['imbalance_ratio']:.2f}")
    for warning in stats.warnings:
        print(f"warning: {warning}")
    print(
        f"{len(checked.errors)} errors, {len(checked.warnings)} warnings;"
        f" report: {report_dir / 'index.html'}"
    )
    return 1 if checked.errors else 0


def _add_split(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "split",
        help="train/val/test by whole places, every class in every split where possible",
        description=(
            "Split by the manifest's groups (places: odet bag export groups the frames that show"
            " one place, revisits included), a group never straddling two splits, covering every"
            " class in every split where the counts allow, each split within the largest group's"
            " size of its share, reproducibly for a seed. Run again with the same seed and"
            " ratios, frames already split keep their split and only new groups are placed."
            " Writes train.txt/val.txt/test.txt (absolute image paths), split.json and data.yaml"
            " (absolute path)."
        ),
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET")
    parser.add_argument(
        "--ratios",
        type=float,
        nargs=3,
        default=(0.7, 0.2, 0.1),
        metavar=("TRAIN", "VAL", "TEST"),
        help="shares of the images (default 0.7 0.2 0.1; TEST 0: no test split)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="split anew, ignoring the dataset's current split (frames may change split)",
    )
    parser.set_defaults(func=run_split)


LARGEST_GROUP_SHARE = 0.3  # a group over this share of the images is reported


def run_split(args: argparse.Namespace) -> int:
    from odet_ros.dataset.layout import Dataset
    from odet_ros.dataset.split import SplitSettings, split_dataset

    dataset = Dataset.open(args.dataset)
    plan = split_dataset(dataset, SplitSettings(tuple(args.ratios), args.seed, args.fresh))
    names = dataset.names()
    total = sum(len(files) for files in plan.images.values())
    width = max([len(n) for n in names] + [8])
    print(
        f"{'split':<6} {'images':>7} {'share':>6} {'target':>6} {'groups':>7}  "
        + " ".join(f"{n:>{width}}" for n in names)
    )
    for split, files in plan.images.items():
        counts = " ".join(f"{int(c):>{width}}" for c in plan.instances[split])
        share, target = len(files) / max(total, 1), plan.targets[split] / max(total, 1)
        print(
            f"{split:<6} {len(files):>7} {share:>6.1%} {target:>6.1%} {plan.groups[split]:>7}  "
            f"{counts}"
        )
    for class_id, split in plan.uncovered:
        print(f"warning: class {names[class_id]!r} has too few groups to appear in {split}")
    group, size = plan.largest_group
    print(
        f"{sum(plan.groups.values())} places (groups); the largest, {group}, holds {size} images"
        f" ({size / max(total, 1):.0%})"
    )
    if plan.kept_groups:
        print(
            f"extended the earlier split (seed {args.seed}): {plan.kept_groups} groups kept"
            f" their split, {plan.moved_images} images moved with a group that merged"
            " (--fresh: split anew)"
        )
    if plan.oversized:
        print(
            f"warning: {group} alone holds more images than the {' and '.join(plan.oversized)}"
            f" share; it went to {plan.group_split[group]}, and the splits can only be as close"
            f" to their shares as whole groups allow"
        )
    if total and size > LARGEST_GROUP_SHARE * total:
        print(
            f"warning: one group holds {size / total:.0%} of the images, so the split cannot"
            " follow the ratios; export with a smaller --same-view or --group-gap to cut finer"
        )
    print(f"data.yaml: {dataset.data_yaml}")
    return 0


def _add_augment(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "augment",
        help="extra copies of train images with brightness, blur, crop and flip",
        description=(
            "Write COPIES augmented copies of each train image (all images with --all): exposure"
            " and brightness, blur, random crop (boxes clipped; those keeping less than"
            " --min-visibility of their area dropped), horizontal flip. Copies join train.txt."
        ),
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET")
    parser.add_argument("--copies", type=int, default=2, help="per image (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="augment every image, not only train")
    parser.add_argument("--brightness", type=float, default=0.15, help="offset, share of 255")
    parser.add_argument("--exposure", type=float, default=0.3, help="gain within 1 +- this")
    parser.add_argument("--blur", type=float, default=0.3, help="probability of a blur")
    parser.add_argument("--max-blur-sigma", type=float, default=1.5)
    parser.add_argument("--crop", type=float, default=0.5, help="probability of a crop")
    parser.add_argument("--min-crop-scale", type=float, default=0.6)
    parser.add_argument("--flip", type=float, default=0.5, help="probability of a flip")
    parser.add_argument("--min-visibility", type=float, default=0.3)
    parser.set_defaults(func=run_augment)


def run_augment(args: argparse.Namespace) -> int:
    from odet_ros.dataset.augment import AugmentSettings, augment_dataset
    from odet_ros.dataset.layout import Dataset

    settings = AugmentSettings(
        brightness=args.brightness,
        exposure=args.exposure,
        blur_probability=args.blur,
        max_blur_sigma=args.max_blur_sigma,
        crop_probability=args.crop,
        min_crop_scale=args.min_crop_scale,
        flip_probability=args.flip,
        min_visibility=args.min_visibility,
    )
    report = augment_dataset(
        Dataset.open(args.dataset),
        args.copies,
        settings,
        seed=args.seed,
        all_images=args.all,
        progress=_progress(),
    )
    print(
        f"{report.copies} copies of {report.sources} images written"
        f" ({report.removed} earlier copies replaced, {report.dropped_boxes} boxes cropped away)"
    )
    return 0


def _add_preprocess(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "preprocess",
        help="a new dataset with images auto-oriented, cropped and resized",
        description=(
            "Write a processed copy of DATASET into OUT: EXIF auto-orient, crop to a window, resize"
            " (letterbox pads with grey 114, stretch fills); labels, manifest and splits follow."
        ),
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET")
    parser.add_argument("--out", "-o", required=True, type=Path, help="new dataset folder")
    parser.add_argument("--size", type=_size, help="WIDTHxHEIGHT, or one number for a square")
    parser.add_argument("--mode", choices=("letterbox", "stretch"), default="letterbox")
    parser.add_argument("--crop", type=_window, metavar="X0,Y0,X1,Y1", help="pixels to keep")
    parser.add_argument(
        "--no-auto-orient", dest="auto_orient", action="store_false", help="ignore EXIF"
    )
    parser.add_argument("--min-visibility", type=float, default=0.3)
    parser.set_defaults(func=run_preprocess)


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        return int(width), int(height or width)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT or one number, got {text!r}"
        ) from None


def _window(text: str) -> tuple[int, int, int, int]:
    try:
        x0, y0, x1, y1 = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X0,Y0,X1,Y1 in pixels, got {text!r}") from None
    return x0, y0, x1, y1


def run_preprocess(args: argparse.Namespace) -> int:
    from odet_ros.dataset.layout import Dataset
    from odet_ros.dataset.preprocess import PreprocessSettings, preprocess_dataset

    settings = PreprocessSettings(
        size=args.size,
        mode=args.mode,
        crop=args.crop,
        auto_orient=args.auto_orient,
        min_visibility=args.min_visibility,
    )
    target, report = preprocess_dataset(Dataset.open(args.dataset), args.out, settings, _progress())
    print(f"{target.root}: {report.images} images ({report.dropped_boxes} boxes cropped away)")
    return 0
