"""`odet bag`: rosbag2 recordings without ROS. `odet bag info` lives here; further verbs come from
the modules in VERB_MODULES, each exposing ``register(verbs)`` like a top-level command does."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from odet_ros.bags import BagInfo

VERB_MODULES: tuple[str, ...] = ("odet_ros.cli.bag_export", "odet_ros.cli.bag_select")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bag",
        help="inspect rosbag2 recordings and export their frames (sqlite3, mcap), no ROS needed",
        description="Inspect rosbag2 recordings (sqlite3 and mcap folders, bare .mcap/.db3).",
    )

    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)
    verbs = parser.add_subparsers(dest="bag_command", metavar="VERB")
    info = verbs.add_parser(
        "info",
        help="topics, types, counts, rates and image sizes of bags",
        description="Per topic: type, message count, rate, and for image topics encoding and"
        " size. Reads each bag once; a bag cut short is read up to its last intact message.",
    )
    info.add_argument("bags", nargs="+", type=Path, metavar="BAG", help="bag folder or file")
    info.add_argument("--json", action="store_true", help="print machine-readable JSON")
    info.set_defaults(func=run_info)
    for name in VERB_MODULES:
        importlib.import_module(name).register(verbs)


def run_info(args: argparse.Namespace) -> int:
    from odet_ros.bags import bag_info

    infos = bag_info(args.bags, progress=not args.json and sys.stderr.isatty())
    if args.json:
        print(json.dumps([info.to_dict() for info in infos], indent=2))
    else:
        print("\n\n".join(format_info(info) for info in infos))
    return 0


def format_info(info: BagInfo) -> str:
    """A bag as a summary line, an aligned topic table and its warnings."""
    when = ""
    if info.start_ns is not None and info.end_ns is not None:
        when = f", {_utc(info.start_ns)} to {_utc(info.end_ns)}"
    lines = [
        f"{info.path}: {info.storage}, {_size(info.size_bytes)}, {info.message_count} messages,"
        f" {info.duration_s:.2f} s{when}"
    ]
    rows = [("topic", "type", "count", "rate", "image")]
    for topic in info.topics:
        rate = f"{topic.rate_hz:.2f} Hz" if topic.rate_hz is not None else "-"
        image = topic.encoding or ""
        if topic.width is not None:
            image += f" {topic.width}x{topic.height}"
        rows.append((topic.name, topic.msgtype, str(topic.count), rate, image))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(w) if i in (2, 3) else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    lines.extend(f"  warning: {warning}" for warning in info.warnings)
    return "\n".join(lines)


def _utc(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).isoformat(timespec="milliseconds")


def _size(num_bytes: int) -> str:
    size, unit = float(num_bytes), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{num_bytes} B" if unit == "B" else f"{size:.1f} {unit}"
