"""`odet bag export`: frames of bags into a dataset (a verb of `odet bag`, see VERB_MODULES)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

LOG = logging.getLogger("odet.bag.export")


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "export",
        help="export camera frames of bags into a YOLO dataset with a provenance manifest",
        description=(
            "Export frames of image topics (Image and CompressedImage) from sqlite3/mcap bags into"
            " a dataset folder in the Ultralytics YOLO layout: images named"
            " <bag>__<topic>__<stamp>,"
            " manifest.csv (file, bag, topic, stamp_ns, receive_ns, width, height, encoding, group)"
            " and data.yaml. Frames pass every-Nth and max-frames, then the capture node's sampler"
            " (minimum period, blur, duplicate). Re-running skips frames already exported."
        ),
    )
    parser.add_argument("bags", nargs="+", type=Path, metavar="BAG", help="bag, or folder of bags")
    parser.add_argument("--out", "-o", type=Path, required=True, help="dataset folder")
    parser.add_argument(
        "--topic", action="append", dest="topics", metavar="TOPIC", help="(repeat) default: all"
    )
    parser.add_argument("--format", choices=("jpg", "png"), default="jpg", dest="image_format")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality (default 95)")
    parser.add_argument("--start", type=float, help="seconds after each bag's first frame")
    parser.add_argument("--end", type=float, help="seconds after each bag's first frame")
    parser.add_argument("--every", type=int, default=1, help="keep every Nth message of a topic")
    parser.add_argument("--max-frames", type=int, default=0, help="per topic and bag (0: all)")
    sampling = parser.add_argument_group("sampling (the capture node's filters; 0 = off)")
    sampling.add_argument("--period", type=float, default=0.0, help="min seconds between frames")
    sampling.add_argument("--blur-threshold", type=float, default=0.0, help="min sharpness")
    sampling.add_argument(
        "--duplicate-threshold", type=float, default=0.0, help="min grey-level change (0-255)"
    )
    sampling.add_argument(
        "--blur-calibration",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="set the blur threshold from the first SECONDS of each topic",
    )
    sampling.add_argument("--blur-percentile", type=float, default=20.0)
    parser.add_argument(
        "--group-gap",
        type=float,
        default=1.0,
        help="seconds of pause that start a new group (unless the frames look alike)",
    )
    parser.add_argument(
        "--same-view",
        type=float,
        help="colour distance (0-1) under which frames across a short pause show one place and"
        " stay in one group (default 0.4; 0: pauses and near twins alone decide)",
    )
    parser.add_argument(
        "--same-view-gap",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="the longest pause --same-view bridges (default 3; near twins: any pause)",
    )
    parser.add_argument(
        "--no-places",
        dest="by_place",
        action="store_false",
        help="do not merge the groups of the whole dataset that show one place (revisits)",
    )
    parser.add_argument(
        "--classes",
        help="class names for data.yaml, comma-separated (after those it has; a selection"
        " record's model adds its own)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=1,
        help=f"bags in parallel (this machine: {os.cpu_count()})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from odet_ros.dataset.export import ExportSettings, export_bags
    from odet_ros.sampling import SamplerSettings

    settings = ExportSettings(
        image_format=args.image_format,
        quality=args.quality,
        topics=tuple(args.topics) if args.topics else None,
        start_s=args.start,
        end_s=args.end,
        every=args.every,
        max_frames=args.max_frames,
        sampling=SamplerSettings(args.period, args.blur_threshold, args.duplicate_threshold),
        blur_calibration_s=args.blur_calibration,
        blur_calibration_percentile=args.blur_percentile,
        group_gap_s=args.group_gap,
        **({} if args.same_view is None else {"same_view": args.same_view}),
        same_view_gap_s=args.same_view_gap,
        by_place=args.by_place,
        classes=tuple(c.strip() for c in args.classes.split(",")) if args.classes else (),
    )
    report = export_bags(
        args.bags, args.out, settings, jobs=args.jobs, progress=sys.stderr.isatty()
    )
    for warning in report.warnings:
        LOG.warning("%s", warning)
    counts = report.counts
    skipped = ", ".join(
        f"{counts[key]} {key.replace('_', ' ')}"
        for key in ("every", "max_frames", "too_soon", "blurred", "duplicate", "same_stamp")
        if counts[key]
    )
    print(
        f"{report.dataset.root}: {counts['written']} frames written, {counts['existing']} already"
        f" there, from {counts['messages']} messages of {len(report.bags)} bag(s)"
        + (f"; skipped: {skipped}" if skipped else "")
    )
    if counts["not_picture"]:
        print(f"not exported (no colour or grey picture): {counts['not_picture']} messages")
    print(f"manifest: {report.manifest_rows} rows in {report.dataset.manifest_path}")
    group, size = report.largest_group
    merged = f", {report.merged_by_place} merged as revisits" if report.merged_by_place else ""
    print(
        f"groups: {report.groups} places{merged}; the largest, {group}, holds {size} images"
        f" ({size / max(report.manifest_rows, 1):.0%})"
    )
    names = report.dataset.names()
    print(f"classes: {', '.join(names)}" if names else "classes: none yet (--classes sets them)")
    if counts["failed"]:
        print(f"error: {counts['failed']} frames could not be decoded", file=sys.stderr)
        return 1
    return 0
