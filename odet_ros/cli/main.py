"""Entry point of `odet`: builds the parser from the subcommand modules and dispatches.

Each module in COMMANDS exposes ``register(subparsers)``, which adds its parser and sets
``func`` to a handler returning the exit code. Heavy imports stay inside the handlers so that
`odet --help` and the ONNX/TFLite paths start fast on a robot.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from odet_ros import __version__
from odet_ros.errors import OdetError

COMMANDS: tuple[str, ...] = (  # in workflow order, as `odet --help` lists them
    "odet_ros.cli.demo",
    "odet_ros.cli.sample",
    "odet_ros.cli.bag",
    "odet_ros.cli.label",
    "odet_ros.cli.dataset",
    "odet_ros.cli.train",
    "odet_ros.cli.evaluate",
    "odet_ros.cli.export",
    "odet_ros.cli.deploy",
    "odet_ros.cli.detect",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="odet",
        description="Object-detection workflow for ROS 2 robots, usable without ROS.",
    )
    parser.add_argument("--version", action="version", version=f"odet {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except OdetError as error:
        print(f"odet {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"odet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
